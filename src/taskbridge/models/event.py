"""The event feed's rows: one per change a tenant's other systems may want to hear about."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taskbridge.kit.model import Base, JsonDocument
from taskbridge.kit.time import utcnow

EventId = BigInteger().with_variant(Integer(), "sqlite")
"""SQLite's ``INTEGER PRIMARY KEY AUTOINCREMENT`` (never reuses an id); ``bigint`` elsewhere."""


class Event(Base):
    """Written in the transaction that causes it, never updated; purged after retention.

    ``txid`` is the writing transaction's id on PostgreSQL (``pg_current_xact_id()``, the
    column's default) and 0 on SQLite; the feed reads in (``txid``, ``id``) order.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_position", "tenant_id", "txid", "id"),
        Index("ix_events_created_at", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    txid: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID]
    replaced: Mapped[bool | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
