"""Invitations on the wire."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import StringConstraints

from taskbridge.kit.case import RequestModel, ResponseModel, examples
from taskbridge.kit.pagination import PageMeta, page_example
from taskbridge.kit.time import Timestamp

TOKEN_EXAMPLE = "tb_inv_eyJpIjoiZDRlNWY2YTcifQ.c2lnbmF0dXJl"
INVITATION_EXAMPLE = {
    "id": "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a",
    "email": "luis.soto@example.com",
    "role": "VIEWER",
    "status": "invited",
    "createdAt": "2026-04-10T14:30:00.000Z",
    "expiresAt": "2026-04-17T14:30:00.000Z",
}


class InvitationRead(ResponseModel):
    """A tenant's invitation, as the tenant lists it (never its token)."""

    model_config = examples(INVITATION_EXAMPLE)

    id: uuid.UUID
    email: str
    role: str
    status: str
    created_at: Timestamp
    expires_at: Timestamp


class InvitationIssued(InvitationRead):
    """A new invitation with its link, shown once. Only the invited account, signed in as
    itself, can accept it: handing it to the person who invited is safe."""

    model_config = examples(
        {
            **INVITATION_EXAMPLE,
            "acceptUrl": f"https://tasks.example.com/admin/invitations/{TOKEN_EXAMPLE}",
            "token": TOKEN_EXAMPLE,
        }
    )

    accept_url: str
    token: str


class InvitationPage(ResponseModel):
    model_config = examples(page_example(INVITATION_EXAMPLE))

    data: list[InvitationRead]
    meta: PageMeta


class InvitationAccept(RequestModel):
    model_config = examples({"token": TOKEN_EXAMPLE})

    token: Annotated[str, StringConstraints(max_length=1024)]


OFFER_EXAMPLE = {
    "id": "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a",
    "tenantId": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "tenantName": "Acme",
    "tenantSlug": "acme",
    "role": "VIEWER",
    "createdAt": "2026-04-10T14:30:00.000Z",
    "expiresAt": "2026-04-17T14:30:00.000Z",
}


class OfferRead(ResponseModel):
    """One of the signed-in person's pending invitations (the token is in their link only)."""

    model_config = examples(OFFER_EXAMPLE)

    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    tenant_slug: str
    role: str
    created_at: Timestamp
    expires_at: Timestamp


class OfferList(ResponseModel):
    model_config = examples({"data": [OFFER_EXAMPLE]})

    data: list[OfferRead]
