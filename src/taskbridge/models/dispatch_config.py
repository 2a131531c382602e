from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from taskbridge.kit.model import Base, IdMixin, TimestampMixin


class DispatchConfig(IdMixin, TimestampMixin, Base):
    """Where a tenant's tasks of one channel are pushed. Secrets are stored sealed (AES-GCM)."""

    __tablename__ = "dispatch_configs"
    __table_args__ = (
        Index(
            "uq_dispatch_configs_active_channel",
            "tenant_id",
            "channel",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16))
    endpoint_url: Mapped[str | None] = mapped_column(String(2048))
    signing_secret_sealed: Mapped[str] = mapped_column(Text)
    previous_signing_secret_sealed: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None]
    auth_header_name: Mapped[str | None] = mapped_column(String(64))
    auth_header_value_sealed: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    deactivated_reason: Mapped[str | None] = mapped_column(Text)
