"""Every statement about users, memberships and sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.kit.repository import TenantRepository
from taskbridge.kit.time import utcnow
from taskbridge.models import LoginFailure, Membership, Tenant, User, UserSession


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    """Unscoped: an email names one person across tenants."""
    return await session.scalar(select(User).where(User.email == email))


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """Unscoped: the signed-in person themself."""
    return await session.get(User, user_id)


def add_user(session: AsyncSession, user: User) -> None:
    session.add(user)


async def memberships_of_user(
    session: AsyncSession, user_id: uuid.UUID
) -> Sequence[tuple[Tenant, str]]:
    """Unscoped: every tenant the person belongs to, with the role there."""
    rows = await session.execute(
        select(Tenant, Membership.role)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == user_id)
        .order_by(Tenant.name, Tenant.slug)
    )
    return [(tenant, role) for tenant, role in rows.all()]


async def roles_of_users_unscoped(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> Sequence[tuple[uuid.UUID, uuid.UUID, str]]:
    """Unscoped: ``(user id, tenant id, role)`` of every membership of these accounts, so a
    tenant's manager is measured against the whole account (only ever shown as a yes/no)."""
    if not user_ids:
        return []
    rows = await session.execute(
        select(Membership.user_id, Membership.tenant_id, Membership.role).where(
            Membership.user_id.in_(user_ids)
        )
    )
    return [(user_id, tenant_id, role) for user_id, tenant_id, role in rows.all()]


async def all_tenants_unscoped(session: AsyncSession) -> Sequence[Tenant]:
    """Unscoped: a super admin's reach."""
    return (await session.scalars(select(Tenant).order_by(Tenant.name, Tenant.slug))).all()


async def get_tenant_unscoped(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def find_session(session: AsyncSession, token_hash: str, kind: str) -> UserSession | None:
    return await session.scalar(
        select(UserSession).where(UserSession.token_hash == token_hash, UserSession.kind == kind)
    )


def add_session(session: AsyncSession, row: UserSession) -> None:
    session.add(row)


async def revoke_sessions_of(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def add_failure(session: AsyncSession, failure: LoginFailure) -> None:
    session.add(failure)


class MemberRepository(TenantRepository):
    """The people of one tenant."""

    async def list(self) -> Sequence[tuple[User, str]]:
        stmt = self.scoped(select(User, Membership.role), Membership).join(
            User, User.id == Membership.user_id
        )
        rows = await self.session.execute(stmt.order_by(User.email))
        return [(user, role) for user, role in rows.all()]

    async def get(self, user_id: uuid.UUID) -> tuple[User, Membership] | None:
        stmt = self.scoped(select(User, Membership), Membership).join(
            User, User.id == Membership.user_id
        )
        row = (await self.session.execute(stmt.where(User.id == user_id))).first()
        return None if row is None else (row[0], row[1])

    async def other_active_admins(self, user_id: uuid.UUID) -> int:
        """How many active people other than ``user_id`` are ADMIN of this tenant."""
        stmt = self.scoped(select(func.count()).select_from(Membership), Membership).join(
            User, User.id == Membership.user_id
        )
        stmt = stmt.where(Membership.role == "ADMIN", User.is_active.is_(True), User.id != user_id)
        return int(await self.session.scalar(stmt) or 0)

    def add(self, membership: Membership) -> None:
        membership.tenant_id = self.tenant_id
        self.session.add(membership)


async def user_with_live_family(
    session: AsyncSession, user_id: uuid.UUID, family_id: uuid.UUID, kind: str, now: datetime
) -> tuple[User, bool] | None:
    """Unscoped: the person, and whether one session of ``kind`` in that family of theirs is
    still live (neither revoked nor expired). One round trip, on every bearer request."""
    live = (
        select(UserSession.id)
        .where(
            UserSession.family_id == family_id,
            UserSession.user_id == User.id,
            UserSession.kind == kind,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
        .exists()
    )
    row = (await session.execute(select(User, live).where(User.id == user_id))).first()
    return None if row is None else (row[0], bool(row[1]))


async def revoke_session_if_live(session: AsyncSession, session_id: uuid.UUID) -> bool:
    """End one session unless something already ended it; False when it was already ended.

    The condition is checked by the UPDATE itself: of two requests rotating the same token at
    once, exactly one wins (PostgreSQL re-reads the row after the first one's commit).
    """
    result = await session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> int:
    """End every live session of one family; how many there were."""
    result = await session.execute(
        update(UserSession)
        .where(UserSession.family_id == family_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class FailureCounts:
    """Recent failed sign-ins of one account from one address, of the account, of the address."""

    pair: int
    pair_oldest: datetime | None
    account: int
    account_latest: datetime | None
    address: int
    address_oldest: datetime | None


async def count_failures(
    session: AsyncSession, account: str, address: str, since: datetime
) -> FailureCounts:
    """The three counts a sign-in is judged by, in one statement over the rows of the account
    or the address (both indexed)."""
    of_account = LoginFailure.account == account
    of_address = LoginFailure.address == address
    of_pair = of_account & of_address
    failed_at = LoginFailure.failed_at
    row = (
        await session.execute(
            select(
                func.count().filter(of_pair).label("pair"),
                func.min(failed_at).filter(of_pair).label("pair_oldest"),
                func.count().filter(of_account).label("account"),
                func.max(failed_at).filter(of_account).label("account_latest"),
                func.count().filter(of_address).label("address"),
                func.min(failed_at).filter(of_address).label("address_oldest"),
            ).where(or_(of_account, of_address), failed_at > since)
        )
    ).one()
    return FailureCounts(
        pair=int(row.pair),
        pair_oldest=row.pair_oldest,
        account=int(row.account),
        account_latest=row.account_latest,
        address=int(row.address),
        address_oldest=row.address_oldest,
    )


async def forget_aged_failures(
    session: AsyncSession, account: str, address: str, before: datetime
) -> None:
    """Drop this account's and this address's failures older than ``before``."""
    await session.execute(
        delete(LoginFailure).where(
            or_(LoginFailure.account == account, LoginFailure.address == address),
            LoginFailure.failed_at <= before,
        )
    )


async def forget_failures_of_pair(session: AsyncSession, account: str, address: str) -> None:
    await session.execute(
        delete(LoginFailure).where(LoginFailure.account == account, LoginFailure.address == address)
    )
