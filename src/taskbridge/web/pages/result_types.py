"""Result types: list in display order, add, edit, reorder, archive/restore, delete if unused."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from taskbridge.auth.permissions import Permission
from taskbridge.errors import BadRequest, Conflict
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.result_types import service
from taskbridge.result_types.schemas import ResultTypeCreate, ResultTypeUpdate
from taskbridge.web.context import Can, PanelUser, Viewer
from taskbridge.web.forms import checked, discard, field_errors
from taskbridge.web.rendering import redirect, render

router = APIRouter(prefix="/result-types", route_class=UnitOfWorkRoute)
Configurator = Annotated[PanelUser, Can(Permission.MANAGE_ACTIVITY_CONFIG)]


def _translations(english: str, spanish: str) -> dict[str, str]:
    given = {"en": english.strip(), "es": spanish.strip()}
    return {lang: text for lang, text in given.items() if text}


async def _list_page(
    request: Request, session: SessionDep, me: PanelUser, status_code: int = 200, **values: object
) -> Response:
    listed = await service.list_all(session, me.tenant_id)
    return render(
        request,
        "result_types.html",
        status_code,
        result_types=listed,
        errors={},
        form={},
        **values,
    )


@router.get("")
async def list_result_types(request: Request, session: SessionDep, me: Viewer) -> Response:
    return await _list_page(request, session, me, notice=request.query_params.get("notice"))


@router.post("")
async def create_result_type(
    request: Request,
    session: SessionDep,
    me: Configurator,
    code: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
    label_en: Annotated[str, Form()] = "",
    label_es: Annotated[str, Form()] = "",
    requires_future: Annotated[bool, Form()] = False,
) -> Response:
    form = {"code": code, "label": label, "label_en": label_en, "label_es": label_es}
    try:
        data = checked(
            ResultTypeCreate,
            code=code.strip(),
            label=label,
            requires_future_scheduled_at=requires_future,
            translations=_translations(label_en, label_es),
        )
        await service.create(session, me.tenant_id, data)
    except (BadRequest, Conflict) as exc:
        await discard(session)
        errors = field_errors(exc, {"translations.en": "label_en", "translations.es": "label_es"})
        if isinstance(exc, Conflict):
            errors = {"code": exc.message}
        listed = await service.list_all(session, me.tenant_id)
        return render(
            request, "result_types.html", 400, result_types=listed, errors=errors, form=form
        )
    return redirect("/result-types?notice=saved")


@router.get("/{result_type_id}")
async def edit_page(
    request: Request, result_type_id: uuid.UUID, session: SessionDep, me: Configurator
) -> Response:
    found = await service.get(session, me.tenant_id, result_type_id)
    form = {
        "label": found.label,
        "label_en": (found.translations or {}).get("en", ""),
        "label_es": (found.translations or {}).get("es", ""),
        "requires_future": found.requires_future_scheduled_at,
    }
    return render(request, "result_type_edit.html", result_type=found, form=form, errors={})


@router.post("/{result_type_id}")
async def update_result_type(
    request: Request,
    result_type_id: uuid.UUID,
    session: SessionDep,
    me: Configurator,
    label: Annotated[str, Form()] = "",
    label_en: Annotated[str, Form()] = "",
    label_es: Annotated[str, Form()] = "",
    requires_future: Annotated[bool, Form()] = False,
) -> Response:
    found = await service.get(session, me.tenant_id, result_type_id)
    try:
        data = checked(
            ResultTypeUpdate,
            label=label,
            requires_future_scheduled_at=requires_future,
            translations=_translations(label_en, label_es),
        )
        await service.update(session, me.tenant_id, result_type_id, data)
    except BadRequest as exc:
        await discard(session)
        form = {
            "label": label,
            "label_en": label_en,
            "label_es": label_es,
            "requires_future": requires_future,
        }
        errors = field_errors(exc, {"translations.en": "label_en", "translations.es": "label_es"})
        return render(
            request, "result_type_edit.html", 400, result_type=found, form=form, errors=errors
        )
    return redirect("/result-types?notice=saved")


@router.post("/{result_type_id}/move")
async def move(
    result_type_id: uuid.UUID,
    session: SessionDep,
    me: Configurator,
    direction: Annotated[str, Form()] = "up",
) -> Response:
    """One place up or down among the active result types."""
    codes = [rt.code for rt in await service.list_active(session, me.tenant_id)]
    moving = await service.get(session, me.tenant_id, result_type_id)
    if moving.code in codes:
        at = codes.index(moving.code)
        to = at - 1 if direction == "up" else at + 1
        if 0 <= to < len(codes):
            codes[at], codes[to] = codes[to], codes[at]
            await service.reorder(session, me.tenant_id, codes)
    return redirect("/result-types")


@router.post("/{result_type_id}/archive")
async def archive(result_type_id: uuid.UUID, session: SessionDep, me: Configurator) -> Response:
    await service.set_active(session, me.tenant_id, result_type_id, is_active=False)
    return redirect("/result-types?notice=saved")


@router.post("/{result_type_id}/restore")
async def restore(result_type_id: uuid.UUID, session: SessionDep, me: Configurator) -> Response:
    await service.set_active(session, me.tenant_id, result_type_id, is_active=True)
    return redirect("/result-types?notice=saved")


@router.post("/{result_type_id}/delete")
async def delete(
    request: Request, result_type_id: uuid.UUID, session: SessionDep, me: Configurator
) -> Response:
    try:
        await service.delete(session, me.tenant_id, result_type_id)
    except Conflict as exc:
        await discard(session)
        return await _list_page(
            request, session, me, 409, row_errors={str(result_type_id): exc.message}
        )
    return redirect("/result-types?notice=deleted")
