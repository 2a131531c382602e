"""API keys: create with permission checkboxes (the key shown once), list, revoke."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from taskbridge.auth import service
from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS, Permission
from taskbridge.errors import BadRequest, Forbidden, NotFound
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.web.context import Can, PanelUser
from taskbridge.web.forms import discard, field_errors, parse_local
from taskbridge.web.rendering import redirect, render

router = APIRouter(prefix="/api-keys", route_class=UnitOfWorkRoute)
KeyManager = Annotated[PanelUser, Can(Permission.MANAGE_API_KEYS)]


async def _list_page(
    request: Request, session: SessionDep, me: PanelUser, status_code: int = 200, **values: object
) -> Response:
    keys = await service.list_api_keys(session, me.tenant_id)
    grantable = [
        p for p in Permission if p in me.principal.permissions and p in TENANT_KEY_PERMISSIONS
    ]
    defaults: dict[str, object] = {"errors": {}, "form": {"permissions": []}, "notice": None}
    return render(
        request,
        "api_keys.html",
        status_code,
        keys=keys,
        grantable=grantable,
        **{**defaults, **values},
    )


@router.get("")
async def list_keys(request: Request, session: SessionDep, me: KeyManager) -> Response:
    return await _list_page(request, session, me, notice=request.query_params.get("notice"))


@router.post("")
async def create_key(
    request: Request,
    session: SessionDep,
    me: KeyManager,
    name: Annotated[str, Form()] = "",
    permissions: Annotated[list[str] | None, Form()] = None,
    expires_at: Annotated[str, Form()] = "",
) -> Response:
    """The plaintext is rendered in this response only; reloading does not show it again."""
    chosen = permissions or []
    try:
        created = await service.create_api_key(
            session,
            me.tenant_id,
            name=name,
            permissions=chosen,
            expires_at=parse_local(expires_at, me.time_zone, "expires_at"),
            granted_by=me.principal.permissions,
        )
    except (BadRequest, Forbidden) as exc:
        await discard(session)
        form = {"name": name, "permissions": chosen, "expires_at": expires_at}
        errors = field_errors(exc) if isinstance(exc, BadRequest) else {"permissions": exc.message}
        return await _list_page(request, session, me, 400, errors=errors, form=form)
    return render(request, "api_key_created.html", key=created.key, plaintext=created.plaintext)


@router.get("/{key_id}/revoke")
async def confirm_revoke(
    request: Request, key_id: uuid.UUID, session: SessionDep, me: KeyManager
) -> Response:
    keys = {k.id: k for k in await service.list_api_keys(session, me.tenant_id)}
    key = keys.get(key_id)
    if key is None:
        raise NotFound(f"API key '{key_id}' not found")
    return render(request, "api_key_revoke.html", key=key)


@router.post("/{key_id}/revoke")
async def revoke(key_id: uuid.UUID, session: SessionDep, me: KeyManager) -> Response:
    await service.revoke_api_key(session, me.tenant_id, key_id)
    return redirect("/api-keys?notice=revoked")
