"""Who is signed in: the bearer token's person; the secret, the caller's address, and whether
its cookies must be ``Secure``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.errors import Unauthorized
from taskbridge.kit.uow import session_factory_of
from taskbridge.models import User
from taskbridge.users import sessions
from taskbridge.users.sessions import LiveSession

BEARER = "bearer "
PANEL_MOUNT = "/admin"


def secret_of(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.resolved_secret_key()


def client_address(request: Request) -> str:
    """The caller's address: the connection's, or the one a trusted proxy forwarded (uvicorn
    rewrites the client only for ``TASKBRIDGE_FORWARDED_ALLOW_IPS``)."""
    return request.client.host if request.client else "unknown"


def cookies_are_secure(request: Request) -> bool:
    """Whether the cookies of this response get ``Secure`` (every cookie taskbridge sets asks
    here): always when ``TASKBRIDGE_PUBLIC_URL`` is https, else when the request came over https
    (the connection's scheme, or the ``X-Forwarded-Proto`` of a trusted proxy)."""
    settings: Settings = request.app.state.settings
    return settings.is_public_url_https() or request.url.scheme == "https"


def site_url(request: Request) -> str:
    """Where people reach this server, for links it hands out: ``TASKBRIDGE_PUBLIC_URL``, else
    the address the request came to (never above the panel's mount)."""
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return settings.public_url
    return str(request.base_url).rstrip("/").removesuffix(PANEL_MOUNT)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[len(BEARER) :].strip() if header.lower().startswith(BEARER) else None


async def current_session(request: Request) -> LiveSession:
    """The person of ``Authorization: Bearer`` (no tenant needed) and the session family their
    token came from, or 401."""
    token = bearer_token(request)
    if not token:
        raise Unauthorized(sessions.INVALID_TOKEN)
    async with session_scope(session_factory_of(request)) as session:
        return await sessions.bearer_session(session, secret_of(request), token)


async def current_user(signed_in: Annotated[LiveSession, Depends(current_session)]) -> User:
    """The person of ``Authorization: Bearer`` (no tenant needed), or 401."""
    return signed_in.user


SignedIn = Annotated[User, Depends(current_user)]
SignedInSession = Annotated[LiveSession, Depends(current_session)]
