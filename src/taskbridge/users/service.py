"""Accounts and roles: create, list, change role, reset password, sign in, sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.auth.permissions import Role
from taskbridge.auth.principal import Principal, TenantRef, UserPrincipal
from taskbridge.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from taskbridge.kit.time import utcnow
from taskbridge.models import Membership, Tenant, User, UserSession
from taskbridge.users import repository, throttle
from taskbridge.users.passwords import check_password_rule, hash_password, verify_password
from taskbridge.users.repository import MemberRepository
from taskbridge.users.roles import ROLE_RANK, permissions_of, role_ceiling
from taskbridge.users.tokens import (
    hash_session_token,
    new_session_token,
    password_stamp,
    read_access_token,
)

INVALID_LOGIN = "Invalid email or password"
INVALID_TOKEN = "Access token missing, invalid or expired"
REFRESH = "REFRESH"
PANEL = "PANEL"
SESSION_TTL = {REFRESH: timedelta(days=14), PANEL: timedelta(hours=12)}


@dataclass(frozen=True, slots=True)
class Member:
    user: User
    role: Role


@dataclass(frozen=True, slots=True)
class TenantRole:
    tenant: Tenant
    role: Role


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check_email(email: str) -> str:
    email = normalize_email(email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in email) or len(email) > 320:
        raise BadRequest("must be an email address", field="email")
    return email


def _role(value: str, field: str = "role") -> Role:
    if value not in Role.__members__:
        raise BadRequest(f"must be one of {', '.join(Role)}", field=field)
    return Role(value)


def caller_rank(caller: Principal) -> int:
    """A person's role rank; an API key ranks as the highest role its permissions cover."""
    if isinstance(caller, UserPrincipal):
        return ROLE_RANK[Role(caller.role)]
    return role_ceiling(caller.permissions)


def _may_grant(rank: int, role: Role) -> None:
    if ROLE_RANK[role] > rank:
        raise Forbidden(f"You cannot grant the role {role}: it is above your own")


def _may_manage(rank: int, target: Role) -> None:
    if ROLE_RANK[target] >= rank:
        raise Forbidden("You can only manage users whose role is below your own")


async def list_members(session: AsyncSession, tenant_id: uuid.UUID) -> list[Member]:
    return [Member(u, Role(r)) for u, r in await MemberRepository(session, tenant_id).list()]


async def get_member(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Member:
    found = await MemberRepository(session, tenant_id).get(user_id)
    if found is None:
        raise NotFound(f"User '{user_id}' not found")
    return Member(found[0], Role(found[1].role))


async def get_member_by_email(session: AsyncSession, tenant_id: uuid.UUID, email: str) -> Member:
    user = await repository.find_user_by_email(session, normalize_email(email))
    if user is None:
        raise NotFound(f"User '{normalize_email(email)}' not found in this tenant")
    try:
        return await get_member(session, tenant_id, user.id)
    except NotFound:
        raise NotFound(f"User '{user.email}' not found in this tenant") from None


async def create_member(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    email: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    rank: int | None = None,
) -> Member:
    """A new account in this tenant; an existing account (another tenant's) gains a membership.

    ``rank`` is the creator's (None: the command line, which may grant any role).
    """
    address = _check_email(email)
    wanted = _role(role)
    if rank is not None:
        _may_grant(rank, wanted)
    members = MemberRepository(session, tenant_id)
    user = await repository.find_user_by_email(session, address)
    if user is None:
        check_password_rule(password)
        user = User(
            id=uuid.uuid4(),
            email=address,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            password_hash=hash_password(password),
            is_active=True,
        )
        repository.add_user(session, user)
        await session.flush()
    elif await members.get(user.id) is not None:
        raise Conflict(f"'{address}' is already a user of this tenant")
    members.add(Membership(id=uuid.uuid4(), user_id=user.id, role=str(wanted)))
    await session.flush()
    return Member(user, wanted)


async def set_role(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    *,
    rank: int | None = None,
) -> Member:
    wanted = _role(role)
    found = await MemberRepository(session, tenant_id).get(user_id)
    if found is None:
        raise NotFound(f"User '{user_id}' not found")
    user, membership = found
    if rank is not None:
        _may_manage(rank, Role(membership.role))
        _may_grant(rank, wanted)
    membership.role = str(wanted)
    await session.flush()
    return Member(user, wanted)


async def reset_password(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    password: str,
    *,
    rank: int | None = None,
) -> Member:
    """A new password; every session of that user ends."""
    member = await get_member(session, tenant_id, user_id)
    if rank is not None:
        _may_manage(rank, member.role)
    check_password_rule(password)
    member.user.password_hash = hash_password(password)
    await repository.revoke_sessions_of(session, member.user.id)
    await session.flush()
    return member


async def tenants_of(session: AsyncSession, user: User) -> list[TenantRole]:
    """Where the person may act: a super admin anywhere, the others in their tenants."""
    memberships = await repository.memberships_of_user(session, user.id)
    if any(role == Role.SUPER_ADMIN for _, role in memberships):
        everywhere = await repository.all_tenants_unscoped(session)
        return [TenantRole(t, Role.SUPER_ADMIN) for t in everywhere]
    return [TenantRole(tenant, Role(role)) for tenant, role in memberships]


def principal_in(user: User, entry: TenantRole) -> UserPrincipal:
    """The person acting in one of their tenants, with that role's permissions."""
    tenant = entry.tenant
    return UserPrincipal(
        user_id=user.id,
        email=user.email,
        role=str(entry.role),
        permissions=permissions_of(entry.role),
        tenant=TenantRef(tenant.id, tenant.name, tenant.slug, tenant.locale),
    )


async def acting_as(session: AsyncSession, user: User, tenant_id: uuid.UUID) -> UserPrincipal:
    """The person's principal in one tenant; 403 when they are not part of it."""
    for entry in await tenants_of(session, user):
        if entry.tenant.id == tenant_id:
            return principal_in(user, entry)
    raise Forbidden("You are not a member of this tenant")


async def attempt_log_in(
    session: AsyncSession, email: str, password: str, address: str
) -> User | None:
    """The account, or None for every failure alike (unknown email, wrong password, inactive).

    A failure is recorded in this transaction: the caller answers 401 *and commits*, so that
    every process counts it. Too many recent failures for the email or the address: 429.
    """
    account = normalize_email(email)[:320]
    address = address[:64]
    wait = await throttle.seconds_to_wait(session, account, address)
    if wait:
        raise TooManyRequests("Too many failed sign-ins; try again later", retry_after=wait)
    user = await repository.find_user_by_email(session, account)
    matches = verify_password(None if user is None else user.password_hash, password)
    if user is None or not matches or not user.is_active:
        await throttle.record_failure(session, account, address)
        return None
    await throttle.forget_account(session, account)
    return user


async def start_session(session: AsyncSession, user: User, kind: str) -> str:
    """A new opaque token of ``kind``; only its hash is stored."""
    token = new_session_token()
    now = utcnow()
    row_id = uuid.uuid4()
    row = UserSession(
        id=row_id,
        user_id=user.id,
        family_id=row_id,
        kind=kind,
        token_hash=hash_session_token(token),
        created_at=now,
        expires_at=now + SESSION_TTL[kind],
    )
    repository.add_session(session, row)
    await session.flush()
    return token


async def resume_session(session: AsyncSession, token: str | None, kind: str) -> User | None:
    """The active user of a live session token, or None."""
    if not token:
        return None
    row = await repository.find_session(session, hash_session_token(token), kind)
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = await repository.get_user(session, row.user_id)
    return user if user is not None and user.is_active else None


async def end_session(session: AsyncSession, token: str | None, kind: str) -> None:
    if not token:
        return
    row = await repository.find_session(session, hash_session_token(token), kind)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()


async def refresh(session: AsyncSession, token: str | None) -> tuple[User, str]:
    """Trade a live refresh token for a new one (the old one ends); 401 otherwise."""
    user = await resume_session(session, token, REFRESH)
    if user is None:
        raise Unauthorized("Refresh token missing, invalid or expired")
    await end_session(session, token, REFRESH)
    return user, await start_session(session, user, REFRESH)


async def user_of_access_token(session: AsyncSession, secret: str, token: str) -> User:
    claims = read_access_token(secret, token)
    user = None if claims is None else await repository.get_user(session, claims[0])
    if user is None or claims is None or not user.is_active:
        raise Unauthorized(INVALID_TOKEN)
    if claims[1] != password_stamp(user.password_hash):
        raise Unauthorized(INVALID_TOKEN)
    return user


async def authenticate_bearer(
    session: AsyncSession, secret: str, token: str, tenant_header: str | None
) -> UserPrincipal:
    """A bearer token plus ``x-tenant-id``: the person acting in that tenant."""
    user = await user_of_access_token(session, secret, token)
    if not tenant_header:
        raise BadRequest("is required with a bearer token", field="x-tenant-id")
    try:
        tenant_id = uuid.UUID(tenant_header)
    except ValueError:
        raise BadRequest("must be a tenant id (UUID)", field="x-tenant-id") from None
    return await acting_as(session, user, tenant_id)


async def set_locale(session: AsyncSession, user_id: uuid.UUID, locale: str | None) -> None:
    """The person's panel language (``es``/``en``); anything else: the tenant's."""
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound(f"User '{user_id}' not found")
    user.locale = locale if locale in {"es", "en"} else None
    await session.flush()
