"""Who is signed in: the bearer token's person, and where sign-in failures are counted."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.errors import Unauthorized
from taskbridge.kit.uow import session_factory_of
from taskbridge.models import User
from taskbridge.users import service
from taskbridge.users.throttle import LoginThrottle

BEARER = "bearer "


def secret_of(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.resolved_secret_key()


def throttle_of(request: Request) -> LoginThrottle:
    """The process's sign-in throttle, shared by the REST API and the panel."""
    throttle: LoginThrottle | None = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = request.app.state.login_throttle = LoginThrottle()
    return throttle


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[len(BEARER) :].strip() if header.lower().startswith(BEARER) else None


async def current_user(request: Request) -> User:
    """The person of ``Authorization: Bearer`` (no tenant needed), or 401."""
    token = bearer_token(request)
    if not token:
        raise Unauthorized(service.INVALID_TOKEN)
    async with session_scope(session_factory_of(request)) as session:
        return await service.user_of_access_token(session, secret_of(request), token)


SignedIn = Annotated[User, Depends(current_user)]
