"""Sessions: refresh-token families (REST) and panel sessions, the live-family check of access
tokens, and the person's own password change, which ends every other session.

A sign-in starts a family; each refresh rotates to a new row of the same family. A family ends as a
whole: on sign-out, when a rotated refresh token comes back (OAuth 2.0 Security BCP: the thief's
and the owner's tokens die together), and on a password change or reset. An access token names its
family (``sid``) and is refused once the family has no live row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.audit.actors import USER, Actor
from taskbridge.errors import BadRequest, Unauthorized
from taskbridge.kit.time import as_utc, utcnow
from taskbridge.models import User, UserSession
from taskbridge.users import repository, throttle
from taskbridge.users.passwords import check_password_rule, hash_password, verify_password
from taskbridge.users.tokens import (
    hash_session_token,
    new_session_token,
    password_stamp,
    read_access_token,
)

INVALID_TOKEN = "Access token missing, invalid or expired"
INVALID_REFRESH = "Refresh token missing, invalid or expired"
REFRESH = "REFRESH"
PANEL = "PANEL"
SESSION_TTL = {REFRESH: timedelta(days=14), PANEL: timedelta(hours=12)}

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SessionGrant:
    """A session just started or continued: its new token (handed out once) and its family."""

    user: User
    token: str
    family_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class LiveSession:
    """The person of a live session (a panel cookie, or an access token's family)."""

    user: User
    family_id: uuid.UUID


async def start_session(
    session: AsyncSession, user: User, kind: str, family_id: uuid.UUID | None = None
) -> SessionGrant:
    """A new opaque token of ``kind``, in ``family_id`` or a family of its own; only its hash is
    stored."""
    token = new_session_token()
    now = utcnow()
    row_id = uuid.uuid4()
    family = family_id or row_id
    row = UserSession(
        id=row_id,
        user_id=user.id,
        family_id=family,
        kind=kind,
        token_hash=hash_session_token(token),
        created_at=now,
        expires_at=now + SESSION_TTL[kind],
    )
    repository.add_session(session, row)
    await session.flush()
    return SessionGrant(user, token, family)


async def resume_session(session: AsyncSession, token: str | None, kind: str) -> LiveSession | None:
    """The active person of a live session token, or None."""
    if not token:
        return None
    row = await repository.find_session(session, hash_session_token(token), kind)
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= utcnow():
        return None
    user = await repository.get_user(session, row.user_id)
    return LiveSession(user, row.family_id) if user is not None and user.is_active else None


async def end_session(session: AsyncSession, token: str | None, kind: str) -> None:
    """Sign out: the token's whole family ends (any token of it, even a rotated one, may end it)."""
    if not token:
        return
    row = await repository.find_session(session, hash_session_token(token), kind)
    if row is not None:
        await repository.revoke_family(session, row.family_id)


async def rotate_refresh(session: AsyncSession, token: str | None) -> SessionGrant | None:
    """A new refresh token of the same family for a live one, which ends; None to refuse (401).

    A token that was already rotated away is a replay: a thief's copy or the owner's, and one of
    them holds its successor. The whole family ends so both must sign in again, with a warning
    naming the person and the family (never the token). The caller answers the refusal instead of
    raising it, so that the revocation is committed.
    """
    if not token:
        return None
    row = await repository.find_session(session, hash_session_token(token), REFRESH)
    if row is None:
        return None
    if row.revoked_at is not None:
        await _end_replayed_family(session, row)
        return None
    user = await repository.get_user(session, row.user_id)
    if as_utc(row.expires_at) <= utcnow() or user is None or not user.is_active:
        return None
    if not await repository.revoke_session_if_live(session, row.id):
        # Another request rotated this very token a moment ago: one of the two is a replay.
        await _end_replayed_family(session, row)
        return None
    return await start_session(session, user, REFRESH, family_id=row.family_id)


async def _end_replayed_family(session: AsyncSession, row: UserSession) -> None:
    ended = await repository.revoke_family(session, row.family_id)
    # With a live successor the token was rotated away: reuse. Without one the family had ended
    # already (signed out, password changed or reset, reuse seen before): a stale cookie.
    report = log.warning if ended else log.info
    report(
        "refresh_token_reused" if ended else "refresh_token_of_ended_family",
        user_id=str(row.user_id),
        family_id=str(row.family_id),
        sessions_ended=ended,
    )


async def bearer_session(session: AsyncSession, secret: str, token: str) -> LiveSession:
    """The person of a valid access token whose family is still live, under the same password
    (one statement); 401 otherwise."""
    claims = read_access_token(secret, token)
    if claims is None:
        raise Unauthorized(INVALID_TOKEN)
    found = await repository.user_with_live_family(
        session, claims.user_id, claims.family_id, REFRESH, utcnow()
    )
    if found is None:
        raise Unauthorized(INVALID_TOKEN)
    user, is_live = found
    if (
        not is_live
        or not user.is_active
        or claims.password_stamp != password_stamp(user.password_hash)
    ):
        raise Unauthorized(INVALID_TOKEN)
    return LiveSession(user, claims.family_id)


def wrong_current_password() -> BadRequest:
    return BadRequest("is not your current password", field="current_password")


async def change_password(
    session: AsyncSession,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    kind: str,
    *,
    current_password: str,
    new_password: str,
    address: str,
) -> SessionGrant | None:
    """The person's new password. Every session of theirs ends but ``family_id`` (of ``kind``:
    the caller's), which continues with a new token: the old one is then a rotated token, and a
    copy of it presented again ends the family like any replay.

    The current password is a sign-in: throttled like one (429), and a wrong one is counted as a
    failed sign-in, so this cannot be used to guess. None then: the caller answers
    :func:`wrong_current_password` *and commits*. The new password follows the usual rule (400
    naming ``new_password``).
    """
    found = await repository.user_with_live_family(session, user_id, family_id, kind, utcnow())
    if found is None or not found[1] or not found[0].is_active:
        raise Unauthorized(INVALID_TOKEN)
    user, address = found[0], address[:64]
    await throttle.check(session, user.email, address)
    if not verify_password(user.password_hash, current_password):
        await throttle.record_failure(session, user.email, address)
        return None
    check_password_rule(new_password, field="new_password")
    await throttle.forget_pair(session, user.email, address)
    user.password_hash = hash_password(new_password)
    await repository.revoke_sessions_of(session, user.id)
    log.info("password_changed", user_id=str(user.id), family_id=str(family_id))
    # One entry in each tenant of the account, as a sign-in is recorded; never the password.
    actor = Actor(USER, str(user.id), user.email, address)
    for tenant, _ in await repository.memberships_of_user(session, user.id):
        after = {"email": user.email, "other_sessions_ended": True}
        audit.record(
            session, tenant.id, "user.password_changed", "user", user.id, after=after, actor=actor
        )
    return await start_session(session, user, kind, family_id=family_id)
