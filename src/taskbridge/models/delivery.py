from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from taskbridge.kit.model import Base, IdMixin, TimestampMixin
from taskbridge.kit.time import utcnow


class Delivery(IdMixin, TimestampMixin, Base):
    """The outbox row: one message for one activity to one config. Its id is the ``webhook-id``."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index("ix_deliveries_tenant_activity", "tenant_id", "activity_id"),
        Index("ix_deliveries_tenant_created", "tenant_id", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id"))
    config_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dispatch_configs.id", ondelete="SET NULL"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(32), default="task.created")
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class DeliveryAttempt(IdMixin, Base):
    """One try at sending a delivery: when, where, what came back, how long it took."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id", "attempted_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    endpoint_url: Mapped[str | None] = mapped_column(String(2048))
    outcome: Mapped[str] = mapped_column(String(24))
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(default=0)
