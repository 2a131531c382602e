"""``/api/api-keys``: create (plaintext shown once), list, revoke."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response

from taskbridge.auth import service
from taskbridge.auth.dependencies import AUTH_RESPONSES, Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPage, ApiKeyRead
from taskbridge.kit.body import JsonBody, documented_body
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/api-keys", tags=["api keys"], route_class=UnitOfWorkRoute)

KeyManager = Annotated[Principal, Authorized(Permission.MANAGE_API_KEYS)]


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=AUTH_RESPONSES,
    openapi_extra=documented_body(ApiKeyCreate),
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


@router.get("", response_model=ApiKeyPage, responses=AUTH_RESPONSES)
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
    response_model=ApiKeyRead,
    responses={**AUTH_RESPONSES, 404: {"description": "No such key in this tenant"}},
)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, caller: KeyManager) -> Response:
    """Revoke a key at once; it stays listed with `revokedAt`."""
    key = await service.revoke_api_key(session, caller.tenant_id, key_id)
    return model_response(ApiKeyRead.model_validate(key))
