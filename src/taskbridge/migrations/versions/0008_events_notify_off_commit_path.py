"""events: no NOTIFY in the writers' transactions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

The ``events_notify`` trigger of 0006 made every transaction that wrote an event take
PostgreSQL's notification-queue lock at commit, which serialised commits (measured with 64
connections inserting events: 2,671 tx/s without the trigger, 1,139 with it). Readers are now
woken by a per-process notifier outside the writers' transactions (``events/wakeups.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_FUNCTION = """
CREATE FUNCTION taskbridge_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('taskbridge_events', '');
    RETURN NULL;
END;
$$
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER events_notify AFTER INSERT ON events
FOR EACH STATEMENT EXECUTE FUNCTION taskbridge_events_notify()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_notify ON events")
        op.execute("DROP FUNCTION IF EXISTS taskbridge_events_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)
