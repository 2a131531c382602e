"""Commerces and operators: search, list, detail, CSV import."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from starlette.responses import Response

from taskbridge.auth.permissions import Permission
from taskbridge.commerces import service as commerces
from taskbridge.imports.schemas import ImportKind
from taskbridge.kit.pagination import page_meta
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.operators import service as operators
from taskbridge.operators.schemas import OperatorType
from taskbridge.web.context import Can, PanelUser
from taskbridge.web.forms import page_number
from taskbridge.web.pages.imports import import_upload
from taskbridge.web.rendering import render

router = APIRouter(route_class=UnitOfWorkRoute)
PER_PAGE = 25
CommerceManager = Annotated[PanelUser, Can(Permission.MANAGE_COMMERCES)]
CommerceSyncer = Annotated[PanelUser, Can(Permission.SYNC_COMMERCES)]
OperatorManager = Annotated[PanelUser, Can(Permission.MANAGE_OPERATORS)]
OperatorSyncer = Annotated[PanelUser, Can(Permission.SYNC_OPERATORS)]
Upload = Annotated[UploadFile | None, File()]


@router.get("/commerces")
async def list_commerces(
    request: Request, session: SessionDep, me: CommerceManager, q: str = "", page: str = "1"
) -> Response:
    number = page_number(page)
    rows, total = await commerces.search(session, me.tenant_id, q.strip() or None, number, PER_PAGE)
    return render(
        request, "commerces.html", rows=rows, q=q, meta=page_meta(number, PER_PAGE, total, None)
    )


@router.get("/commerces/{commerce_id}")
async def commerce_detail(
    request: Request, commerce_id: uuid.UUID, session: SessionDep, me: CommerceManager
) -> Response:
    found = await commerces.get(session, me.tenant_id, commerce_id)
    return render(request, "commerce.html", commerce=found)


@router.post("/commerces/import")
async def import_commerces(
    request: Request, session: SessionDep, me: CommerceSyncer, file: Upload = None
) -> Response:
    return await import_upload(request, session, me, ImportKind.COMMERCES, file, "/commerces")


@router.get("/operators")
async def list_operators(
    request: Request,
    session: SessionDep,
    me: OperatorManager,
    q: str = "",
    type: str = "",
    page: str = "1",
) -> Response:
    number = page_number(page)
    kind = type if type in OperatorType.__members__ else None
    rows, total = await operators.search(
        session, me.tenant_id, q.strip() or None, kind, number, PER_PAGE
    )
    return render(
        request,
        "operators.html",
        rows=rows,
        q=q,
        type=kind or "",
        types=list(OperatorType),
        meta=page_meta(number, PER_PAGE, total, None),
    )


@router.get("/operators/{operator_id}")
async def operator_detail(
    request: Request, operator_id: uuid.UUID, session: SessionDep, me: OperatorManager
) -> Response:
    found = await operators.get(session, me.tenant_id, operator_id)
    return render(request, "operator.html", operator=found)


@router.post("/operators/import")
async def import_operators(
    request: Request, session: SessionDep, me: OperatorSyncer, file: Upload = None
) -> Response:
    return await import_upload(request, session, me, ImportKind.OPERATORS, file, "/operators")
