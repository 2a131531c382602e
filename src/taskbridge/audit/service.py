"""Write an audit entry in the change's own transaction; read a tenant's entries.

Every surface (API, panel, command line) binds its :class:`Actor` to the unit of work once
(:func:`bind_actor`); the domain services call :func:`record` beside the change they make, so
the same change leaves the same row whichever surface made it, and a change rolled back takes
its row with it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit.actors import UNATTRIBUTED, Actor
from taskbridge.audit.repository import AuditFilters, AuditRepository, add_entry
from taskbridge.kit.pagination import Cursor
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.models import AuditEntry

ACTOR_KEY = "audit_actor"
"""``session.info`` key holding the :class:`Actor` of the unit of work."""

SECRET_WORDS = ("password", "secret", "token", "hash", "plaintext", "auth_header_value")
"""A snapshot field whose name holds one of these is never written, whatever its value."""
MAX_TEXT = 1000
"""A longer value is cut: the entry records what changed, not a copy of a document."""

Snapshot = Mapping[str, Any]


def bind_actor(session: AsyncSession, actor: Actor) -> None:
    """Who makes the changes of this unit of work, and from where."""
    session.info[ACTOR_KEY] = actor


def bound_actor(session: AsyncSession) -> Actor:
    actor: Actor = session.info.get(ACTOR_KEY, UNATTRIBUTED)
    return actor


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def _plain(value: Any) -> Any:
    """``value`` as JSON, with every secret-named field left out at any depth."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if not is_secret(str(k))}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(v) for v in items]
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def changes_of(before: Snapshot | None, after: Snapshot | None) -> dict[str, Any]:
    """``{"before", "after"}``; for an update only the fields whose value changed."""
    old = _plain(before or {})
    new = _plain(after or {})
    if before is not None and after is not None:
        changed = [k for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]
        old = {k: old[k] for k in changed if k in old}
        new = {k: new[k] for k in changed if k in new}
    return {"before": old, "after": new}


def record(
    session: AsyncSession,
    tenant_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: object | None,
    *,
    before: Snapshot | None = None,
    after: Snapshot | None = None,
    actor: Actor | None = None,
) -> AuditEntry | None:
    """Append one entry to the session's transaction (``actor`` overrides the bound one).

    With both ``before`` and ``after`` it is an update: nothing is written when no field changed
    (an update that changes nothing is no change).
    """
    changes = changes_of(before, after)
    if before is not None and after is not None and not changes["after"] and not changes["before"]:
        return None
    who = actor or bound_actor(session)
    entry = AuditEntry(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        occurred_at=utcnow(),
        actor_type=who.type,
        actor_id=who.id,
        actor_label=who.label[:400],
        address=None if who.address is None else who.address[:64],
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:64],
        changes=changes,
    )
    add_entry(session, entry)
    return entry


async def list_entries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    filters: AuditFilters,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[AuditEntry], str | None]:
    """One page, newest first, and the cursor of the next page (None on the last)."""
    after = None if cursor is None else Cursor.decode(cursor)
    repository = AuditRepository(session, tenant_id)
    rows = await repository.list(filters, after=after, limit=limit + 1)
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(at=last.occurred_at, id=last.id).encode()


async def count_entries(session: AsyncSession, tenant_id: uuid.UUID, filters: AuditFilters) -> int:
    return await AuditRepository(session, tenant_id).count(filters)
