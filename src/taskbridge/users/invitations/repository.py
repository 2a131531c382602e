"""Every statement about invitations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.kit.repository import TenantRepository
from taskbridge.models import Invitation, Tenant


def _pending(now: datetime) -> ColumnElement[bool]:
    return (
        Invitation.accepted_at.is_(None)
        & Invitation.revoked_at.is_(None)
        & (Invitation.expires_at > now)
    )


class InvitationRepository(TenantRepository):
    """The invitations one tenant sent."""

    def add(self, invitation: Invitation) -> None:
        invitation.tenant_id = self.tenant_id
        self.session.add(invitation)

    async def get(self, invitation_id: uuid.UUID) -> Invitation | None:
        stmt = self.scoped(select(Invitation), Invitation).where(Invitation.id == invitation_id)
        return await self.session.scalar(stmt)

    async def pending(self, now: datetime) -> Sequence[Invitation]:
        stmt = self.scoped(select(Invitation), Invitation).where(_pending(now))
        return (await self.session.scalars(stmt.order_by(Invitation.email))).all()

    async def revoke_pending_of(self, user_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(Invitation)
            .where(Invitation.tenant_id == self.tenant_id, Invitation.user_id == user_id)
            .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
            .values(revoked_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )


async def find_by_token_hash(session: AsyncSession, token_hash: str) -> Invitation | None:
    """Unscoped: the token names the invitation, whatever the tenant."""
    return await session.scalar(select(Invitation).where(Invitation.token_hash == token_hash))


async def pending_for_user_unscoped(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> Sequence[tuple[Invitation, Tenant]]:
    """Unscoped: every tenant's pending invitation of one person (for that person only)."""
    rows = await session.execute(
        select(Invitation, Tenant)
        .join(Tenant, Tenant.id == Invitation.tenant_id)
        .where(Invitation.user_id == user_id, _pending(now))
        .order_by(Invitation.expires_at, Tenant.name)
    )
    return [(invitation, tenant) for invitation, tenant in rows.all()]


async def close_pending_unscoped(
    session: AsyncSession, invitation_id: uuid.UUID, now: datetime, *, accepted: bool
) -> bool:
    """Mark a still-pending invitation accepted (or declined); False when it no longer was.

    One conditional UPDATE: of two simultaneous acceptances, only one finds it pending.
    """
    values: dict[str, Any] = {"accepted_at" if accepted else "revoked_at": now, "updated_at": now}
    result = await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, _pending(now))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1
