"""Accounts on the wire: sign-in, the signed-in person, users of a tenant."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from taskbridge.auth.permissions import Role
from taskbridge.kit.case import Documented, RequestModel, ResponseModel, examples
from taskbridge.kit.pagination import PageMeta, page_example
from taskbridge.kit.time import Timestamp
from taskbridge.users.emails import EMAIL_PATTERN, MAX_EMAIL_LENGTH, is_email
from taskbridge.users.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]

EMAIL_RULE = "must be an email address"


def _check_email(address: str) -> str:
    if not is_email(address):
        raise ValueError(EMAIL_RULE)
    return address


EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_EMAIL_LENGTH),
    AfterValidator(_check_email),
    # The pattern only, no ``format: email``: the pattern is the server's whole rule, and a
    # format beside it makes a fuzzer's generator search for strings that satisfy both.
    Documented({"pattern": EMAIL_PATTERN}),
]
"""An address that makes or finds an account (refused here as the service would refuse it)."""

NewPassword = Annotated[
    str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
]
Password = Annotated[str, StringConstraints(max_length=MAX_PASSWORD_LENGTH)]
"""A password being checked, not set: any length the hash takes (a wrong one is a 401)."""

ME_EXAMPLE = {
    "id": "0a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d",
    "email": "maria.perez@example.com",
    "firstName": "María",
    "lastName": "Pérez",
    "isActive": True,
    "createdAt": "2026-04-01T12:00:00.000Z",
}
MEMBERSHIP_EXAMPLE = {
    "tenantId": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "slug": "acme",
    "name": "Acme",
    "role": "ADMIN",
}
MEMBER_EXAMPLE = {**ME_EXAMPLE, "role": "ADMIN"}
SIGNED_IN_EXAMPLE = {
    **ME_EXAMPLE,
    "locale": "es",
    "tenants": [MEMBERSHIP_EXAMPLE],
}


class LoginRequest(RequestModel):
    """An address that is not an email is answered like a wrong password (401), so the schema's
    ``format: email`` is a hint here, not a 400."""

    model_config = examples({"email": "maria.perez@example.com", "password": "correct-horse-9"})

    email: Annotated[str, StringConstraints(max_length=320), Documented({"format": "email"})]
    password: Password


class TenantMembershipRead(ResponseModel):
    model_config = examples(MEMBERSHIP_EXAMPLE)

    tenant_id: uuid.UUID
    slug: str
    name: str
    role: str


class UserRead(ResponseModel):
    model_config = examples(ME_EXAMPLE)

    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    is_active: bool
    created_at: Timestamp


class MeRead(UserRead):
    model_config = examples(SIGNED_IN_EXAMPLE)

    locale: str | None
    tenants: list[TenantMembershipRead]


class LoginResponse(ResponseModel):
    """The access token (send it as ``Authorization: Bearer``, with ``x-tenant-id``)."""

    model_config = examples(
        {
            "accessToken": "eyJ1IjoiMGExYjJjM2QifQ.c2lnbmF0dXJl",
            "tokenType": "Bearer",
            "expiresIn": 900,
            "user": SIGNED_IN_EXAMPLE,
        }
    )

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    user: MeRead


class MemberRead(UserRead):
    model_config = examples(MEMBER_EXAMPLE)

    role: str


class MemberPage(ResponseModel):
    model_config = examples(page_example(MEMBER_EXAMPLE))

    data: list[MemberRead]
    meta: PageMeta


class MemberCreate(RequestModel):
    """``password`` and the names make a new account; for an existing account (invited) they
    are ignored, so the password may then be left out (a new account without one is a 400)."""

    model_config = examples(
        {
            "email": "maria.perez@example.com",
            "password": "correct-horse-9",
            "role": "ADMIN",
            "first_name": "María",
            "last_name": "Pérez",
        },
        {"email": "luis.soto@example.com", "role": "VIEWER"},
    )

    email: EmailAddress
    password: NewPassword = Field(default_factory=str)
    """Absent for an invited account; a factory, so the schema shows no ``""`` default that its
    own ``minLength`` refuses."""
    role: Role
    first_name: Name = ""
    last_name: Name = ""


class RoleChange(RequestModel):
    model_config = examples({"role": "VIEWER"})

    role: Role


class PasswordReset(RequestModel):
    model_config = examples({"password": "a-new-long-password"})

    password: NewPassword


class PasswordChange(RequestModel):
    """The person's own new password: the current one proves it is them."""

    model_config = examples(
        {"current_password": "correct-horse-9", "new_password": "a-new-long-password"}
    )

    current_password: Password
    new_password: NewPassword
