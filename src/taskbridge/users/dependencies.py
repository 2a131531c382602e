"""Who is signed in: the bearer token's person; the secret and the caller's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.errors import Unauthorized
from taskbridge.kit.uow import session_factory_of
from taskbridge.models import User
from taskbridge.users import service

BEARER = "bearer "


def secret_of(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.resolved_secret_key()


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
