"""API keys on the wire: the create body, the listed shape, and the one-time plaintext."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import StringConstraints

from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS
from taskbridge.kit.case import NOT_BLANK, Documented, RequestModel, ResponseModel, examples
from taskbridge.kit.pagination import PageMeta, page_example
from taskbridge.kit.time import AwareDatetime, Timestamp

KeyPermission = Annotated[
    str, Documented({"enum": sorted(p.value for p in TENANT_KEY_PERMISSIONS)})
]
"""Checked by ``auth.service`` (its messages name an unknown and a platform permission); the
schema lists what a tenant's key may hold."""

KEY_EXAMPLE = {
    "id": "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
    "name": "Call center",
    "keyPrefix": "tb_sk_nUttKwST",
    "permissions": ["SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"],
    "expiresAt": None,
    "lastUsedAt": "2026-04-11T10:30:00.000Z",
    "revokedAt": None,
    "createdAt": "2026-04-01T12:00:00.000Z",
}


class ApiKeyCreate(RequestModel):
    """Permissions must be a subset of the creator's; the plaintext key is shown only once.
    ``expires_at``, when sent, must be in the future."""

    model_config = examples(
        {
            "name": "Call center",
            "permissions": ["VIEW_ACTIVITIES", "SUBMIT_ACTIVITY_RESULT"],
            "expires_at": "2027-01-01T00:00:00.000Z",
        }
    )

    name: Annotated[str, StringConstraints(max_length=255), Documented({"pattern": NOT_BLANK})]
    permissions: Annotated[list[KeyPermission], Documented({"minItems": 1})]
    expires_at: AwareDatetime | None = None


class ApiKeyRead(ResponseModel):
    """A key as listed: never its plaintext, only the prefix that identifies it."""

    model_config = examples(KEY_EXAMPLE)

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

    model_config = examples(
        {
            **KEY_EXAMPLE,
            "lastUsedAt": None,
            "plaintextKey": "tb_sk_nUttKwSTq3v9Xr2mLp8ZcY4bWfHj6KdA1sEo7Gi5NtU",
        }
    )

    plaintext_key: str


class ApiKeyPage(ResponseModel):
    model_config = examples(page_example(KEY_EXAMPLE))

    data: list[ApiKeyRead]
    meta: PageMeta
