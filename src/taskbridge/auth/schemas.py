"""API keys on the wire: the create body, the listed shape, and the one-time plaintext."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import StringConstraints

from taskbridge.kit.case import RequestModel, ResponseModel
from taskbridge.kit.pagination import PageMeta
from taskbridge.kit.time import AwareDatetime, Timestamp


class ApiKeyCreate(RequestModel):
    """Permissions must be a subset of the creator's; the plaintext key is shown only once."""

    name: Annotated[str, StringConstraints(max_length=255)]
    permissions: list[str]
    expires_at: AwareDatetime | None = None


class ApiKeyRead(ResponseModel):
    """A key as listed: never its plaintext, only the prefix that identifies it."""

    id: uuid.UUID
    name: str
    key_prefix: str
    permissions: list[str]
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None
    created_at: Timestamp


class ApiKeyCreated(ApiKeyRead):
    """The create response: the only place the plaintext key ever appears."""

    plaintext_key: str


class ApiKeyPage(ResponseModel):
    data: list[ApiKeyRead]
    meta: PageMeta
