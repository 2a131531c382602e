"""The tenant switcher and the language choice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.users import service as users
from taskbridge.web.context import TENANT_COOKIE, PanelUser
from taskbridge.web.rendering import redirect, within_panel
from taskbridge.web.security import set_cookie

router = APIRouter(route_class=UnitOfWorkRoute)


@router.post("/tenant")
async def switch_tenant(request: Request, tenant_id: Annotated[str, Form()] = "") -> Response:
    """Act in another of the person's tenants (membership is checked again on every request)."""
    response = redirect("/")
    set_cookie(request, response, TENANT_COOKIE, tenant_id, max_age=60 * 60 * 24 * 365)
    return response


@router.post("/language")
async def choose_language(
    request: Request,
    session: SessionDep,
    language: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """The person's language for the panel (empty: the tenant's)."""
    panel_user: PanelUser = request.state.panel_user
    await users.set_locale(session, panel_user.user_id, language or None)
    return redirect(within_panel(back))
