"""An audit entry as the API, the panel and the command line show it."""

from __future__ import annotations

from taskbridge.audit.schemas import AuditActor, AuditEntryRead, AuditTarget
from taskbridge.models import AuditEntry


def present_entry(entry: AuditEntry) -> AuditEntryRead:
    return AuditEntryRead(
        id=entry.id,
        occurred_at=entry.occurred_at,
        actor=AuditActor(
            type=entry.actor_type, id=entry.actor_id, label=entry.actor_label, address=entry.address
        ),
        action=entry.action,
        target=AuditTarget(type=entry.target_type, id=entry.target_id),
        changes=entry.changes,
    )
