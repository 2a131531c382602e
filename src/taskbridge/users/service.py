"""Accounts and roles: create, list, change role, reset password, sign in (sessions:
:mod:`taskbridge.users.sessions`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.audit.actors import ANONYMOUS, USER, Actor
from taskbridge.auth.permissions import Role
from taskbridge.auth.principal import Principal, TenantRef, UserPrincipal
from taskbridge.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
)
from taskbridge.models import Membership, Tenant, User
from taskbridge.users import repository, sessions, throttle
from taskbridge.users.emails import is_email, normalize_email
from taskbridge.users.passwords import check_password_rule, hash_password, verify_password
from taskbridge.users.repository import MemberRepository
from taskbridge.users.roles import ROLE_RANK, permissions_of, role_ceiling

INVALID_LOGIN = "Invalid email or password"


@dataclass(frozen=True, slots=True)
class Member:
    user: User
    role: Role


@dataclass(frozen=True, slots=True)
class TenantRole:
    tenant: Tenant
    role: Role


def check_email(email: str) -> str:
    """The normalized address, or 400 naming ``email``."""
    email = normalize_email(email)
    if not is_email(email):
        raise BadRequest("must be an email address", field="email")
    return email


def _role(value: str, field: str = "role") -> Role:
    if value not in Role.__members__:
        raise BadRequest(f"must be one of {', '.join(Role)}", field=field)
    return Role(value)


def caller_rank(caller: Principal) -> int:
    """A person's role rank; an API key ranks as the highest role its permissions cover, and
    never above its tenant's ADMIN (a key is the tenant's, not the platform's)."""
    if isinstance(caller, UserPrincipal):
        return ROLE_RANK[Role(caller.role)]
    return min(role_ceiling(caller.permissions), ROLE_RANK[Role.ADMIN])


def _may_grant(rank: int, role: Role) -> None:
    if ROLE_RANK[role] > rank:
        raise Forbidden(f"You cannot grant the role {role}: it is above your own")


def grantable(role: str, rank: int | None) -> Role:
    """``role`` when the granter (of ``rank``; None: the command line) may grant it; 400/403."""
    wanted = _role(role)
    if rank is not None:
        _may_grant(rank, wanted)
    return wanted


@dataclass(frozen=True, slots=True)
class Standing:
    """Where an account stands across every tenant: what a tenant's manager is measured against."""

    highest: Role
    belongs_elsewhere: bool
    """A member of some other tenant too: no single tenant owns the account."""

    @property
    def rank(self) -> int:
        return ROLE_RANK[self.highest]


def _standing_of(roles: list[tuple[uuid.UUID, str]], tenant_id: uuid.UUID) -> Standing:
    """From ``(tenant id, role)`` of every membership of one account (this tenant's included)."""
    return Standing(
        highest=max((Role(role) for _, role in roles), key=ROLE_RANK.__getitem__),
        belongs_elsewhere=any(tenant != tenant_id for tenant, _ in roles),
    )


async def standings(
    session: AsyncSession, tenant_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Standing]:
    """The standing of each of this tenant's members (others are left out)."""
    roles: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for user_id, tenant, role in await repository.roles_of_users_unscoped(session, list(user_ids)):
        roles.setdefault(user_id, []).append((tenant, role))
    return {
        user_id: _standing_of(found, tenant_id)
        for user_id, found in roles.items()
        if any(tenant == tenant_id for tenant, _ in found)
    }


def may_manage(rank: int, target: Standing) -> bool:
    """An account is ranked by its highest role in any tenant (SUPER_ADMIN anywhere: highest)."""
    return target.rank < rank


def may_change_account(rank: int, target: Standing) -> bool:
    """The password, the active flag and the profile are the account's, not one tenant's: a
    tenant changes them only for an account that belongs to it alone. A SUPER_ADMIN already
    acts in every tenant, so no tenant's wall stands between it and the account."""
    return not target.belongs_elsewhere or rank >= ROLE_RANK[Role.SUPER_ADMIN]


ACCOUNT_OF_ANOTHER_TENANT = (
    "This account also belongs to another tenant; only its owner can change it"
)


def _may_manage(rank: int, target: Standing) -> None:
    if not may_manage(rank, target):
        raise Forbidden("You can only manage users whose role is below your own")


def _may_change_account(rank: int, target: Standing) -> None:
    _may_manage(rank, target)
    if not may_change_account(rank, target):
        raise Forbidden(ACCOUNT_OF_ANOTHER_TENANT)


async def _standing(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Standing:
    return (await standings(session, tenant_id, [user_id]))[user_id]


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


async def find_account(session: AsyncSession, email: str) -> User | None:
    """Unscoped: the account of an email, in whichever tenants it is."""
    return await repository.find_user_by_email(session, normalize_email(email))


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
    """A new account, member of this tenant only. An existing account is never joined here
    (409): it is invited, and joins by accepting (``users.invitations.service.add_member``).

    ``rank`` is the creator's (None: the command line, which may grant any role).
    """
    address = check_email(email)
    wanted = grantable(role, rank)
    members = MemberRepository(session, tenant_id)
    user = await repository.find_user_by_email(session, address)
    if user is not None:
        if await members.get(user.id) is not None:
            raise Conflict(f"'{address}' is already a user of this tenant")
        raise Conflict(f"'{address}' already has an account; invite it to this tenant instead")
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
    members.add(Membership(id=uuid.uuid4(), user_id=user.id, role=str(wanted)))
    await session.flush()
    after = {"email": user.email, "first_name": user.first_name, "last_name": user.last_name}
    after["role"] = str(wanted)
    audit.record(session, tenant_id, "user.created", "user", user.id, after=after)
    return Member(user, wanted)


async def set_role(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    *,
    rank: int | None = None,
) -> Member:
    """The role in this tenant only: allowed when the account's highest role anywhere is below
    the caller's, even if the account also belongs to other tenants."""
    wanted = _role(role)
    found = await MemberRepository(session, tenant_id).get(user_id)
    if found is None:
        raise NotFound(f"User '{user_id}' not found")
    user, membership = found
    if rank is not None:
        _may_manage(rank, await _standing(session, tenant_id, user_id))
        _may_grant(rank, wanted)
    before = {"email": user.email, "role": membership.role}
    membership.role = str(wanted)
    await session.flush()
    after = {"email": user.email, "role": membership.role}
    audit.record(
        session, tenant_id, "user.role_changed", "user", user_id, before=before, after=after
    )
    return Member(user, wanted)


async def reset_password(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    password: str,
    *,
    rank: int | None = None,
) -> Member:
    """A new password; every session of that user ends. A tenant resets only the password of an
    account ranked below the caller everywhere and belonging to no other tenant."""
    member = await get_member(session, tenant_id, user_id)
    if rank is not None:
        _may_change_account(rank, await _standing(session, tenant_id, user_id))
    check_password_rule(password)
    member.user.password_hash = hash_password(password)
    await repository.revoke_sessions_of(session, member.user.id)
    await session.flush()
    after = {"email": member.user.email, "sessions_ended": True}
    audit.record(session, tenant_id, "user.password_reset", "user", user_id, after=after)
    return member


CANNOT_DEACTIVATE_YOURSELF = "You cannot deactivate yourself"
LAST_ACTIVE_ADMIN = (
    "This person is the last active ADMIN of a tenant; make someone else ADMIN there first"
)


async def _check_not_last_admin(session: AsyncSession, user_id: uuid.UUID) -> None:
    """409 when the account is ADMIN of a tenant in which no other active person is ADMIN."""
    for tenant, role in await repository.memberships_of_user(session, user_id):
        if role != Role.ADMIN:
            continue
        if not await MemberRepository(session, tenant.id).other_active_admins(user_id):
            raise Conflict(LAST_ACTIVE_ADMIN)


async def set_active(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    active: bool,
    *,
    rank: int | None = None,
    caller_id: uuid.UUID | None = None,
) -> Member:
    """Deactivate or reactivate an account (the flag is the account's, so, as for a password
    reset, only of one ranked below the caller and belonging to no other tenant; ``rank`` None:
    the command line). Deactivating ends every session of the person at once (refresh tokens,
    panel sessions and so their access tokens) and is refused for the caller themself and for the
    last active ADMIN of a tenant (409). Asking for the state it already has changes nothing and
    writes no audit entry."""
    member = await get_member(session, tenant_id, user_id)
    if not active and caller_id == user_id:
        raise Conflict(CANNOT_DEACTIVATE_YOURSELF)
    if rank is not None:
        _may_change_account(rank, await _standing(session, tenant_id, user_id))
    user = member.user
    if user.is_active == active:
        return member
    if not active:
        await _check_not_last_admin(session, user_id)
        await repository.revoke_sessions_of(session, user_id)
    user.is_active = active
    await session.flush()
    after: dict[str, object] = {"email": user.email, "is_active": active}
    if not active:
        after["sessions_ended"] = True
    audit.record(
        session,
        tenant_id,
        "user.reactivated" if active else "user.deactivated",
        "user",
        user_id,
        before={"email": user.email, "is_active": not active},
        after=after,
    )
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
    every process counts it. While a limit of :mod:`throttle` applies: 429.
    """
    account = normalize_email(email)[:320]
    address = address[:64]
    await throttle.check(session, account, address)
    user = await repository.find_user_by_email(session, account)
    matches = verify_password(None if user is None else user.password_hash, password)
    if user is None or not matches or not user.is_active:
        await throttle.record_failure(session, account, address)
        await _audit_sign_in(session, user, Actor(ANONYMOUS, None, account, address), failed=True)
        return None
    await throttle.forget_pair(session, account, address)
    await _audit_sign_in(
        session, user, Actor(USER, str(user.id), user.email, address), failed=False
    )
    return user


async def _audit_sign_in(
    session: AsyncSession, user: User | None, actor: Actor, *, failed: bool
) -> None:
    """One entry in each tenant of the account (so each tenant's administrators see it), or
    one belonging to no tenant for an email that has no account."""
    action = "auth.sign_in_failed" if failed else "auth.signed_in"
    tenants = [] if user is None else await repository.memberships_of_user(session, user.id)
    target = None if user is None else user.id
    tenant_ids: list[uuid.UUID | None] = [tenant.id for tenant, _ in tenants]
    for tenant_id in tenant_ids or [None]:
        audit.record(session, tenant_id, action, "user", target, after={}, actor=actor)


async def authenticate_bearer(
    session: AsyncSession, secret: str, token: str, tenant_header: str | None
) -> UserPrincipal:
    """A bearer token plus ``x-tenant-id``: the person acting in that tenant."""
    user = (await sessions.bearer_session(session, secret, token)).user
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
