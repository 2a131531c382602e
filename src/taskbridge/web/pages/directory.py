"""Commerces and operators: search, list, detail, edit (name and contact details; deactivate
and reactivate) through the services the PATCH APIs use, CSV import."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from taskbridge.auth.permissions import Permission
from taskbridge.commerces import service as commerces
from taskbridge.commerces.schemas import CommerceUpdate
from taskbridge.errors import BadRequest
from taskbridge.imports.schemas import ImportKind
from taskbridge.kit.pagination import page_meta
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.operators import service as operators
from taskbridge.operators.schemas import OperatorType, OperatorUpdate
from taskbridge.web.context import Can, PanelUser
from taskbridge.web.forms import checked, discard, field_errors, page_number
from taskbridge.web.pages.imports import import_upload
from taskbridge.web.rendering import redirect, render

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


def _blank_is_none(value: str) -> str | None:
    return value.strip() or None


async def _commerce_page(
    request: Request,
    session: SessionDep,
    me: PanelUser,
    commerce_id: uuid.UUID,
    status_code: int = 200,
    **values: object,
) -> Response:
    found = await commerces.get(session, me.tenant_id, commerce_id)
    form = {"name": found.name, "tax_id": found.tax_id or ""}
    defaults: dict[str, object] = {
        "errors": {},
        "form": form,
        "notice": request.query_params.get("notice"),
    }
    return render(request, "commerce.html", status_code, commerce=found, **{**defaults, **values})


@router.get("/commerces/{commerce_id}")
async def commerce_detail(
    request: Request, commerce_id: uuid.UUID, session: SessionDep, me: CommerceManager
) -> Response:
    return await _commerce_page(request, session, me, commerce_id)


async def _update_commerce(
    request: Request,
    session: SessionDep,
    me: PanelUser,
    commerce_id: uuid.UUID,
    form: dict[str, str],
    **values: object,
) -> Response:
    """The PATCH API's body and service; a refusal shows the page again with the form kept."""
    try:
        data = checked(CommerceUpdate, **values)
        await commerces.update(session, me.tenant_id, commerce_id, data)
    except BadRequest as exc:
        await discard(session)
        errors = field_errors(exc)
        return await _commerce_page(
            request, session, me, commerce_id, exc.status_code, errors=errors, form=form
        )
    return redirect(f"/commerces/{commerce_id}?notice=saved")


@router.post("/commerces/{commerce_id:uuid}")
async def edit_commerce(
    request: Request,
    commerce_id: uuid.UUID,
    session: SessionDep,
    me: CommerceManager,
    name: Annotated[str, Form()] = "",
    tax_id: Annotated[str, Form()] = "",
) -> Response:
    """Name and tax id (empty clears it)."""
    form = {"name": name, "tax_id": tax_id}
    return await _update_commerce(
        request, session, me, commerce_id, form, name=name, tax_id=_blank_is_none(tax_id)
    )


@router.post("/commerces/{commerce_id:uuid}/{change}")
async def set_commerce_active(
    request: Request,
    commerce_id: uuid.UUID,
    change: Literal["deactivate", "reactivate"],
    session: SessionDep,
    me: CommerceManager,
) -> Response:
    """A deactivated commerce stays, with its tasks; a sync of it reactivates it."""
    found = await commerces.get(session, me.tenant_id, commerce_id)
    form = {"name": found.name, "tax_id": found.tax_id or ""}
    active = change == "reactivate"
    return await _update_commerce(request, session, me, commerce_id, form, is_active=active)


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


async def _operator_page(
    request: Request,
    session: SessionDep,
    me: PanelUser,
    operator_id: uuid.UUID,
    status_code: int = 200,
    **values: object,
) -> Response:
    found = await operators.get(session, me.tenant_id, operator_id)
    form = {"name": found.name, "email": found.email or "", "phone": found.phone or ""}
    defaults: dict[str, object] = {
        "errors": {},
        "form": form,
        "notice": request.query_params.get("notice"),
    }
    return render(request, "operator.html", status_code, operator=found, **{**defaults, **values})


@router.get("/operators/{operator_id}")
async def operator_detail(
    request: Request, operator_id: uuid.UUID, session: SessionDep, me: OperatorManager
) -> Response:
    return await _operator_page(request, session, me, operator_id)


async def _update_operator(
    request: Request,
    session: SessionDep,
    me: PanelUser,
    operator_id: uuid.UUID,
    form: dict[str, str],
    **values: object,
) -> Response:
    """The PATCH API's body and service; a refusal shows the page again with the form kept."""
    try:
        data = checked(OperatorUpdate, **values)
        await operators.update(session, me.tenant_id, operator_id, data)
    except BadRequest as exc:
        await discard(session)
        errors = field_errors(exc)
        return await _operator_page(
            request, session, me, operator_id, exc.status_code, errors=errors, form=form
        )
    return redirect(f"/operators/{operator_id}?notice=saved")


@router.post("/operators/{operator_id:uuid}")
async def edit_operator(
    request: Request,
    operator_id: uuid.UUID,
    session: SessionDep,
    me: OperatorManager,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> Response:
    """Name, email and phone (an empty email or phone clears it)."""
    form = {"name": name, "email": email, "phone": phone}
    return await _update_operator(
        request,
        session,
        me,
        operator_id,
        form,
        name=name,
        email=_blank_is_none(email),
        phone=_blank_is_none(phone),
    )


@router.post("/operators/{operator_id:uuid}/{change}")
async def set_operator_active(
    request: Request,
    operator_id: uuid.UUID,
    change: Literal["deactivate", "reactivate"],
    session: SessionDep,
    me: OperatorManager,
) -> Response:
    found = await operators.get(session, me.tenant_id, operator_id)
    form = {"name": found.name, "email": found.email or "", "phone": found.phone or ""}
    active = change == "reactivate"
    return await _update_operator(request, session, me, operator_id, form, is_active=active)


@router.post("/operators/import")
async def import_operators(
    request: Request, session: SessionDep, me: OperatorSyncer, file: Upload = None
) -> Response:
    return await import_upload(request, session, me, ImportKind.OPERATORS, file, "/operators")
