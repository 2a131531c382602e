from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from taskbridge.kit.model import Base, IdMixin, JsonDocument


class AuditEntry(IdMixin, Base):
    """One administrator change (or sign-in), appended in the transaction that made it; never
    updated, deleted only by retention once older than ``TASKBRIDGE_AUDIT_RETENTION_DAYS``.

    ``tenant_id`` is None only for what belongs to no tenant (a failed sign-in for an unknown
    account). ``changes`` is ``{"before": {...}, "after": {...}}`` and never holds a secret.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_tenant_at", "tenant_id", "occurred_at", "id"),
        Index("ix_audit_entries_occurred_at", "occurred_at"),
    )

    tenant_id: Mapped[uuid.UUID | None]
    occurred_at: Mapped[datetime]
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str] = mapped_column(String(400))
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
