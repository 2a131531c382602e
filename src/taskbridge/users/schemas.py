"""Accounts on the wire: sign-in, the signed-in person, users of a tenant."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import StringConstraints

from taskbridge.auth.permissions import Role
from taskbridge.kit.case import RequestModel, ResponseModel
from taskbridge.kit.pagination import PageMeta
from taskbridge.kit.time import Timestamp

Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]


class LoginRequest(RequestModel):
    email: Annotated[str, StringConstraints(max_length=320)]
    password: Annotated[str, StringConstraints(max_length=1024)]


class TenantMembershipRead(ResponseModel):
    tenant_id: uuid.UUID
    slug: str
    name: str
    role: str


class UserRead(ResponseModel):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    is_active: bool
    created_at: Timestamp


class MeRead(UserRead):
    locale: str | None
    tenants: list[TenantMembershipRead]


class LoginResponse(ResponseModel):
    """The access token (send it as ``Authorization: Bearer``, with ``x-tenant-id``)."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    user: MeRead


class MemberRead(UserRead):
    role: str


class MemberPage(ResponseModel):
    data: list[MemberRead]
    meta: PageMeta


class MemberCreate(RequestModel):
    """``password`` and the names make a new account; for an existing account (invited) they
    are ignored, so the password may then be left out."""

    email: Annotated[str, StringConstraints(max_length=320)]
    password: Annotated[str, StringConstraints(max_length=1024)] = ""
    role: Role
    first_name: Name = ""
    last_name: Name = ""


class RoleChange(RequestModel):
    role: Role


class PasswordReset(RequestModel):
    password: Annotated[str, StringConstraints(max_length=1024)]


class PasswordChange(RequestModel):
    """The person's own new password: the current one proves it is them."""

    current_password: Annotated[str, StringConstraints(max_length=1024)]
    new_password: Annotated[str, StringConstraints(max_length=1024)]
