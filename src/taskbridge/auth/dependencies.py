"""Authentication declared in signatures: ``Annotated[ApiKeyPrincipal, RequirePermission(P)]``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.auth.service import authenticate_api_key
from taskbridge.db import session_scope
from taskbridge.errors import Forbidden
from taskbridge.kit.uow import session_factory_of

API_KEY_HEADER = "x-api-key"


async def current_api_key(request: Request) -> ApiKeyPrincipal:
    """The key of ``x-api-key``, checked in a short transaction of its own (401 otherwise)."""
    cached: ApiKeyPrincipal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    async with session_scope(session_factory_of(request)) as session:
        principal = await authenticate_api_key(session, request.headers.get(API_KEY_HEADER))
    request.state.principal = principal
    return principal


class _PermissionCheck:
    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, request: Request) -> ApiKeyPrincipal:
        principal = await current_api_key(request)
        if self.permission not in principal.permissions:
            raise Forbidden("Insufficient permissions", requiredPermission=str(self.permission))
        return principal


def RequirePermission(permission: Permission) -> Any:  # noqa: N802 - reads as a type in signatures
    """A dependency: a valid API key that carries ``permission`` (401 / 403 otherwise)."""
    return Depends(_PermissionCheck(permission))


AnyApiKey = Annotated[ApiKeyPrincipal, Depends(current_api_key)]
