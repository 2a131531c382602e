from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taskbridge.kit.model import Base, IdMixin, TimestampMixin
from taskbridge.kit.time import utcnow


class Activity(IdMixin, TimestampMixin, Base):
    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        UniqueConstraint("tenant_id", "provider_activity_id"),
        Index("ix_activities_tenant_schedule", "tenant_id", "scheduled_at", "id"),
        Index("ix_activities_tenant_updated", "tenant_id", "updated_at"),
        Index("ix_activities_tenant_status_schedule", "tenant_id", "status", "scheduled_at"),
        Index("ix_activities_commerce", "commerce_id", "scheduled_at"),
        Index("ix_activities_operator", "operator_id", "scheduled_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[str] = mapped_column(String(16), default="TASK")
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="READY")
    reason: Mapped[str] = mapped_column(Text, default="")
    commerce_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commerces.id"))
    operator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("operators.id"))
    scheduled_at: Mapped[datetime]
    occurred_at: Mapped[datetime | None]
    idempotency_key: Mapped[str] = mapped_column(String(255))
    provider_activity_id: Mapped[str | None] = mapped_column(String(255))
    parent_activity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id"))
    origin: Mapped[str] = mapped_column(String(16), default="ACTIVITY")
    dispatch_attempts: Mapped[int] = mapped_column(default=0)
    last_dispatch_error: Mapped[str | None] = mapped_column(Text)


class ActivityEvent(IdMixin, Base):
    """One status transition: who, when, from, to, why."""

    __tablename__ = "activity_events"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
