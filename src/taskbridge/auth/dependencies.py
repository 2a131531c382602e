"""Authentication declared in signatures.

Integration routes take API keys only: ``Annotated[ApiKeyPrincipal, RequirePermission(P)]``.
Admin routes take any :class:`Principal`: ``Annotated[Principal, Authorized(P)]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request

from taskbridge.audit.actors import actor_of
from taskbridge.audit.service import bind_actor
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import ApiKeyPrincipal, Principal, UserPrincipal
from taskbridge.auth.rate_limits import enforce, key_checks, user_checks
from taskbridge.auth.service import key_digest, load_principal, usable
from taskbridge.db import session_scope
from taskbridge.errors import Forbidden
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.uow import read_session_factory_of, session_factory_of
from taskbridge.users.dependencies import bearer_token, client_address, secret_of
from taskbridge.users.service import authenticate_bearer

API_KEY_HEADER = "x-api-key"
TENANT_HEADER = "x-tenant-id"


async def current_api_key(request: Request) -> ApiKeyPrincipal:
    """The key of ``x-api-key`` (401 otherwise).

    Keys are read through a per-process cache whose entries live ``cache_ttl_seconds`` (at most
    one second), so a revocation committed by any process is honoured everywhere within that time.
    The request then counts against the key's and its tenant's rate limits (429 when spent).
    """
    cached: ApiKeyPrincipal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    digest = key_digest(request.headers.get(API_KEY_HEADER))

    async def load() -> ApiKeyPrincipal | None:
        # Statements on their own, no transaction: on SQLite the read then never queues for the
        # write lock (a busy writer would let the cached key expire meanwhile), and the
        # once-a-minute ``last_used_at`` update takes it for itself alone.
        async with session_scope(read_session_factory_of(request)) as session:
            return await load_principal(session, digest)

    cache: TtlCache[str, ApiKeyPrincipal | None] = request.app.state.api_key_cache
    principal = usable(await cache.get(digest, load))
    await enforce(request.app.state.rate_limits, key_checks(principal))
    request.state.principal = principal
    return principal


async def current_user_principal(request: Request, token: str) -> UserPrincipal:
    """A person's bearer token acting in the tenant of ``x-tenant-id`` (401 / 400 / 403), then
    counted against the person's and the tenant's rate limits (429)."""
    cached: UserPrincipal | None = getattr(request.state, "user_principal", None)
    if cached is not None:
        return cached
    async with session_scope(session_factory_of(request)) as session:
        principal = await authenticate_bearer(
            session, secret_of(request), token, request.headers.get(TENANT_HEADER)
        )
    await enforce(request.app.state.rate_limits, user_checks(principal))
    request.state.user_principal = principal
    return principal


async def current_principal(request: Request) -> Principal:
    """The caller of an admin route: a bearer token with ``x-tenant-id``, or an API key."""
    token = bearer_token(request)
    if token is not None:
        return await current_user_principal(request, token)
    return await current_api_key(request)


PrincipalT = TypeVar("PrincipalT", bound=Principal)


class _PermissionCheck(Generic[PrincipalT]):
    def __init__(
        self, permission: Permission, authenticate: Callable[[Request], Awaitable[PrincipalT]]
    ) -> None:
        self.permission = permission
        self.authenticate = authenticate

    async def __call__(self, request: Request) -> PrincipalT:
        principal = await self.authenticate(request)
        if self.permission not in principal.permissions:
            raise Forbidden("Insufficient permissions", requiredPermission=str(self.permission))
        session = getattr(request.state, "session", None)
        if session is not None:  # the audit log names this caller for the request's changes
            bind_actor(session, actor_of(principal, client_address(request)))
        return principal


def RequirePermission(permission: Permission) -> Any:  # noqa: N802 - reads as a type in signatures
    """A dependency: a valid API key that carries ``permission`` (401 / 403 otherwise)."""
    return Depends(_PermissionCheck(permission, current_api_key))


def Authorized(permission: Permission) -> Any:  # noqa: N802 - reads as a type in signatures
    """A dependency for admin routes: a caller that holds ``permission`` (401 / 403 otherwise)."""
    return Depends(_PermissionCheck(permission, current_principal))


AnyApiKey = Annotated[ApiKeyPrincipal, Depends(current_api_key)]
