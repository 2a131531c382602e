"""Who is using the panel: the signed-in person, the tenant they act in, their language."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response

from taskbridge.audit.actors import actor_of
from taskbridge.audit.service import bind_actor
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import UserPrincipal
from taskbridge.errors import Forbidden
from taskbridge.kit.uow import SessionDep
from taskbridge.users import service as users
from taskbridge.users import sessions
from taskbridge.users.dependencies import client_address
from taskbridge.web.i18n import pick_language
from taskbridge.web.security import SESSION_COOKIE, set_cookie

TENANT_COOKIE = "tb_tenant"


class SignInRequired(Exception):
    """Raised for any panel page without a live session: the handler redirects to sign-in."""


@dataclass(frozen=True, slots=True)
class TenantChoice:
    id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class PanelUser:
    """Plain values only: pages render it even after a refused action rolled back."""

    user_id: uuid.UUID
    email: str
    session_family: uuid.UUID
    """The family of this browser's panel session (what a password change keeps)."""
    principal: UserPrincipal
    tenants: list[TenantChoice]
    language: str
    time_zone: str

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.principal.tenant_id

    def can(self, permission: str) -> bool:
        return Permission(permission) in self.principal.permissions


async def live_panel_session(request: Request, session: SessionDep) -> sessions.LiveSession:
    """The person of this browser's panel session, or the sign-in page."""
    live = await sessions.resume_session(
        session, request.cookies.get(SESSION_COOKIE), sessions.PANEL
    )
    if live is None:
        raise SignInRequired
    return live


async def signed_in(request: Request, session: SessionDep) -> PanelUser:
    """The panel's login check, applied to the whole signed-in router."""
    live = await live_panel_session(request, session)
    tenants = await users.tenants_of(session, live.user)
    if not tenants:
        raise Forbidden("Your account has no tenant; ask an administrator")
    panel_user = acting_in(request, live, tenants)
    bind_actor(session, actor_of(panel_user.principal, client_address(request)))
    return panel_user


def acting_in(
    request: Request, live: sessions.LiveSession, tenants: list[users.TenantRole]
) -> PanelUser:
    """The signed-in person in the tenant the browser chose (else their first), kept on
    ``request.state`` for the page's header."""
    user = live.user
    wanted = request.cookies.get(TENANT_COOKIE)
    chosen = next((t for t in tenants if str(t.tenant.id) == wanted), tenants[0])
    principal = users.principal_in(user, chosen)
    panel_user = PanelUser(
        user_id=user.id,
        email=user.email,
        session_family=live.family_id,
        principal=principal,
        tenants=[TenantChoice(t.tenant.id, t.tenant.name) for t in tenants],
        language=pick_language(user.locale, chosen.tenant.locale),
        time_zone=chosen.tenant.time_zone,
    )
    request.state.panel_user = panel_user
    return panel_user


def set_panel_session(request: Request, response: Response, token: str) -> None:
    """The panel session cookie, living as long as the session."""
    ttl = int(sessions.SESSION_TTL[sessions.PANEL].total_seconds())
    set_cookie(request, response, SESSION_COOKIE, token, max_age=ttl)


class _Can:
    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, panel_user: Annotated[PanelUser, Depends(signed_in)]) -> PanelUser:
        if self.permission not in panel_user.principal.permissions:
            raise Forbidden("You do not have permission to do this")
        return panel_user


def Can(permission: Permission) -> Any:  # noqa: N802 - reads as a type in signatures
    """A signed-in person whose role in the current tenant grants ``permission`` (403 otherwise)."""
    return Depends(_Can(permission))


Viewer = Annotated[PanelUser, Can(Permission.VIEW_ACTIVITIES)]
