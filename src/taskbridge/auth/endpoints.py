"""``/api/api-keys``: create (plaintext shown once), list, revoke."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response

from taskbridge.auth import service
from taskbridge.auth.dependencies import Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPage, ApiKeyRead
from taskbridge.kit.body import JsonBody
from taskbridge.kit.openapi import SAMPLE_ID, refused
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/api-keys", tags=["api keys"], route_class=UnitOfWorkRoute)

KeyManager = Annotated[Principal, Authorized(Permission.MANAGE_API_KEYS)]


@router.post(
    "",
    operation_id="createApiKey",
    status_code=201,
    response_model=ApiKeyCreated,
    responses={
        403: refused(
            "The caller lacks `MANAGE_API_KEYS` (named in `requiredPermission`), or asks for "
            "a permission it does not hold itself",
            "A key can only grant permissions its creator has; missing: DISPATCH_ACTIVITY",
            requiredPermission="DISPATCH_ACTIVITY",
        )
    },
)
async def create_api_key(
    session: SessionDep,
    caller: KeyManager,
    body: Annotated[ApiKeyCreate, JsonBody(ApiKeyCreate)],
) -> Response:
    """A new key carrying at most the caller's permissions; `plaintextKey` is shown only here."""
    created = await service.create_api_key(
        session,
        caller.tenant_id,
        name=body.name,
        permissions=body.permissions,
        expires_at=body.expires_at,
        granted_by=caller.permissions,
        created_by_key_id=caller.api_key_id,
        creator_expires_at=caller.expires_at,
    )
    listed = ApiKeyRead.model_validate(created.key)
    shown = ApiKeyCreated(**listed.model_dump(), plaintext_key=created.plaintext)
    return model_response(shown, status_code=201)


@router.get("", operation_id="listApiKeys", response_model=ApiKeyPage)
async def list_api_keys(session: SessionDep, caller: KeyManager, paging: PageQuery) -> Response:
    """The tenant's keys, newest first, revoked ones included."""
    keys = await service.list_api_keys(session, caller.tenant_id)
    return model_response(
        ApiKeyPage(
            data=[ApiKeyRead.model_validate(k) for k in paging.window(keys)],
            meta=paging.meta(len(keys)),
        )
    )


@router.post(
    "/{key_id}/revoke",
    operation_id="revokeApiKey",
    response_model=ApiKeyRead,
    responses={404: refused("No such key in this tenant", f"API key '{SAMPLE_ID}' not found")},
)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, caller: KeyManager) -> Response:
    """Revoke a key at once; it stays listed with `revokedAt`."""
    key = await service.revoke_api_key(session, caller.tenant_id, key_id)
    return model_response(ApiKeyRead.model_validate(key))
