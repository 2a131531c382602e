"""Index results by activity for history reads and the current-result join

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_activity_results_activity", "activity_results", ["activity_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_activity_results_activity", table_name="activity_results")
