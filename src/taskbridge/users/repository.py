"""Every statement about users, memberships and sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, update
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


async def failures_since(
    session: AsyncSession, which: ColumnElement[bool], since: datetime
) -> tuple[int, datetime | None]:
    """How many failed sign-ins match ``which`` since ``since``, and the oldest of them."""
    row = (
        await session.execute(
            select(func.count(), func.min(LoginFailure.failed_at)).where(
                which, LoginFailure.failed_at > since
            )
        )
    ).one()
    return int(row[0]), row[1]


def add_failure(session: AsyncSession, failure: LoginFailure) -> None:
    session.add(failure)


async def forget_failures(session: AsyncSession, which: ColumnElement[bool]) -> None:
    await session.execute(delete(LoginFailure).where(which))


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

    def add(self, membership: Membership) -> None:
        membership.tenant_id = self.tenant_id
        self.session.add(membership)
