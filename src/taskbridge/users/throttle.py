"""Failed sign-ins, counted per account and per address in the database (so every process
sees the same counts)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.kit.time import as_utc, utcnow
from taskbridge.models import LoginFailure
from taskbridge.users import repository

MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW = timedelta(minutes=15)


async def seconds_to_wait(session: AsyncSession, account: str, address: str) -> int:
    """0 when a sign-in may be tried now; else the seconds until the oldest failure ages out."""
    now = utcnow()
    waits = []
    for which, limit in (
        (LoginFailure.account == account, MAX_FAILURES_PER_ACCOUNT),
        (LoginFailure.address == address, MAX_FAILURES_PER_ADDRESS),
    ):
        count, oldest = await repository.failures_since(session, which, now - WINDOW)
        if count >= limit and oldest is not None:
            waits.append((as_utc(oldest) + WINDOW - now).total_seconds())
    return max(1, math.ceil(max(waits))) if waits else 0


async def record_failure(session: AsyncSession, account: str, address: str) -> None:
    """Count one failure, and drop this account's and address's failures that aged out."""
    now = utcnow()
    await _forget_older_than(session, account, address, now - WINDOW)
    repository.add_failure(
        session, LoginFailure(id=uuid.uuid4(), account=account, address=address, failed_at=now)
    )
    await session.flush()


async def _forget_older_than(
    session: AsyncSession, account: str, address: str, before: datetime
) -> None:
    await repository.forget_failures(
        session,
        or_(LoginFailure.account == account, LoginFailure.address == address)
        & (LoginFailure.failed_at <= before),
    )


async def forget_account(session: AsyncSession, account: str) -> None:
    """A successful sign-in clears the account's count (not the address's)."""
    await repository.forget_failures(session, LoginFailure.account == account)
