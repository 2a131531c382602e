"""Invitations on the wire."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import StringConstraints

from taskbridge.kit.case import RequestModel, ResponseModel
from taskbridge.kit.pagination import PageMeta
from taskbridge.kit.time import Timestamp


class InvitationRead(ResponseModel):
    """A tenant's invitation, as the tenant lists it (never its token)."""

    id: uuid.UUID
    email: str
    role: str
    status: str
    created_at: Timestamp
    expires_at: Timestamp


class InvitationIssued(InvitationRead):
    """A new invitation with its link, shown once. Only the invited account, signed in as
    itself, can accept it: handing it to the person who invited is safe."""

    accept_url: str
    token: str


class InvitationPage(ResponseModel):
    data: list[InvitationRead]
    meta: PageMeta


class InvitationAccept(RequestModel):
    token: Annotated[str, StringConstraints(max_length=1024)]


class OfferRead(ResponseModel):
    """One of the signed-in person's pending invitations (the token is in their link only)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    tenant_slug: str
    role: str
    created_at: Timestamp
    expires_at: Timestamp


class OfferList(ResponseModel):
    data: list[OfferRead]
