"""Failed sign-ins, counted in the database (so every process sees the same counts).

Three limits, each over the last ``WINDOW`` (15 minutes):

- per account *and* address: 5 failures lock that pair, until the oldest of them ages out. The
  guesser is stopped; the account's owner, elsewhere, is not.
- per address, whatever the account: 20 failures lock the address.
- per account, from any address: from its 5th failure on, every attempt waits
  ``min(2^(n-5), 30)`` seconds after the latest failure (n: the failures in the window). A guesser
  spread over many addresses is slowed to about two guesses a minute; the owner waits at most
  30 seconds and is never locked out.

A refused attempt is not counted, so waiting out a limit cannot be turned into a longer one.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.errors import TooManyRequests
from taskbridge.kit.time import as_utc, utcnow
from taskbridge.models import LoginFailure
from taskbridge.users import repository

MAX_FAILURES_PER_PAIR = 5
MAX_FAILURES_PER_ADDRESS = 20
DELAYED_FROM = 5
"""The account's failures in the window from which every attempt waits."""
MAX_DELAY_SECONDS = 30
WINDOW = timedelta(minutes=15)
TOO_MANY_FAILURES = "Too many failed sign-ins; try again later"


def account_delay(failures: int) -> timedelta:
    """How long after the account's latest failure the next attempt may come, with ``failures``."""
    if failures < DELAYED_FROM:
        return timedelta(0)
    doublings = min(failures - DELAYED_FROM, 16)  # past the cap anyway; keeps the power small
    return timedelta(seconds=min(2**doublings, MAX_DELAY_SECONDS))


def _free_at(counts: repository.FailureCounts) -> list[datetime]:
    """When each limit that applies stops applying."""
    moments = []
    if counts.pair >= MAX_FAILURES_PER_PAIR and counts.pair_oldest is not None:
        moments.append(as_utc(counts.pair_oldest) + WINDOW)
    if counts.address >= MAX_FAILURES_PER_ADDRESS and counts.address_oldest is not None:
        moments.append(as_utc(counts.address_oldest) + WINDOW)
    if counts.account >= DELAYED_FROM and counts.account_latest is not None:
        moments.append(as_utc(counts.account_latest) + account_delay(counts.account))
    return moments


async def seconds_to_wait(session: AsyncSession, account: str, address: str) -> int:
    """0 when a sign-in may be tried now; else the seconds until every limit has passed."""
    now = utcnow()
    counts = await repository.count_failures(session, account, address, since=now - WINDOW)
    wait = max((moment - now for moment in _free_at(counts)), default=timedelta(0))
    return max(1, math.ceil(wait.total_seconds())) if wait > timedelta(0) else 0


async def check(session: AsyncSession, account: str, address: str) -> None:
    """429 with ``Retry-After`` while a limit applies to this account from this address."""
    wait = await seconds_to_wait(session, account, address)
    if wait:
        raise TooManyRequests(TOO_MANY_FAILURES, retry_after=wait)


async def record_failure(session: AsyncSession, account: str, address: str) -> None:
    """Count one failure, and drop this account's and address's failures that aged out."""
    now = utcnow()
    await repository.forget_aged_failures(session, account, address, before=now - WINDOW)
    repository.add_failure(
        session, LoginFailure(id=uuid.uuid4(), account=account, address=address, failed_at=now)
    )
    await session.flush()


async def forget_pair(session: AsyncSession, account: str, address: str) -> None:
    """A successful sign-in clears the failures of this account *from this address* only.

    Not the account's failures from elsewhere: they are not the owner's typing mistakes but,
    most likely, someone guessing; wiping them whenever the owner signs in would hand that
    guesser a fresh run of undelayed guesses each time. The owner pays at most one bounded delay
    (30 seconds) for them. Nor the address's: an address that guessed at many accounts has not
    become trustworthy because one of its accounts signed in.
    """
    await repository.forget_failures_of_pair(session, account, address)
