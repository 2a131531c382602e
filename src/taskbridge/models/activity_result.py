from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from taskbridge.kit.model import Base, IdMixin, JsonDocument
from taskbridge.kit.time import utcnow


class ActivityResult(IdMixin, Base):
    """How a task went. History is kept: a replaced result gets ``superseded_at``."""

    __tablename__ = "activity_results"
    __table_args__ = (
        Index(
            "uq_activity_results_current",
            "activity_id",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        Index("ix_activity_results_tenant_created", "tenant_id", "created_at"),
        Index("ix_activity_results_activity", "activity_id", "created_at"),
        Index("ix_activity_results_tenant_code", "tenant_id", "code"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id"))
    status: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(Text)
    contact_type: Mapped[str | None] = mapped_column(String(16))
    operator_external_id: Mapped[str | None] = mapped_column(String(255))
    future_scheduled_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    raw_payload: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    external_status: Mapped[str | None] = mapped_column(String(255))
    provider_activity_id: Mapped[str | None] = mapped_column(String(255))
    commerce_external_id: Mapped[str] = mapped_column(String(255))
    occurred_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16), default="ACTIVITY")
    superseded_at: Mapped[datetime | None]
    follow_up_activity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id"))
    api_key_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
