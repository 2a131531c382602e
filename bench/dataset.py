"""Bench data: a tenant, a key, the seed result types, and many tasks bulk-loaded (not the API)."""

from __future__ import annotations

import random
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import func, select

from taskbridge.auth import service as auth
from taskbridge.config import Settings
from taskbridge.db import create_engine, create_session_factory, session_scope
from taskbridge.kit.pagination import Cursor
from taskbridge.models import Activity, Commerce
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeCreate
from taskbridge.tenants import service as tenants
from taskbridge.tenants.schemas import TenantCreate

SLUG = "bench"
COMMERCES = 1_000
OPERATORS = 100
CHANNELS = ["SALESMAN", "CALLCENTER", "WHATSAPP", "EMAIL", "SMS", "PUSH"]
SEED = [
    ("SALE_COMPLETED", "Venta completada", False),
    ("NOT_INTERESTED", "No interesado", False),
    ("RESCHEDULE", "Reprogramar visita", True),
    ("NO_CONTACT", "Sin contacto", False),
]
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BenchTenant:
    tenant_id: uuid.UUID
    key: str
    tasks: int


def commerce_external_id(index: int) -> str:
    return f"COM-{index:04d}"


async def prepare(settings: Settings, tasks: int) -> BenchTenant:
    """The bench tenant with ``tasks`` tasks (loaded once), and a fresh API key."""
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    async with session_scope(factory) as session:
        tenant = await tenants.find_by_slug(session, SLUG)
        if tenant is None:
            tenant = await tenants.create(session, TenantCreate(name="Bench", slug=SLUG))
            for code, label, future in SEED:
                await result_types.create(
                    session,
                    tenant.id,
                    ResultTypeCreate(code=code, label=label, requires_future_scheduled_at=future),
                )
        key = await auth.create_api_key(
            session,
            tenant.id,
            name="bench",
            permissions=["VIEW_ACTIVITIES", "SUBMIT_ACTIVITY_RESULT"],
        )
    async with factory() as session:
        existing = await session.scalar(
            select(func.count()).select_from(Activity).where(Activity.tenant_id == tenant.id)
        )
    await engine.dispose()
    if not existing:
        rows = _rows(tenant.id, tasks)
        if settings.resolved_database_url().startswith("postgresql"):
            await _copy_postgres(settings, rows)
        else:
            _insert_sqlite(settings, rows)
    return BenchTenant(tenant_id=tenant.id, key=key.plaintext, tasks=tasks)


def _rows(tenant_id: uuid.UUID, tasks: int) -> dict[str, list[tuple[Any, ...]]]:
    rng = random.Random(42)
    now = datetime.now(UTC)
    commerces = [
        (
            uuid.uuid4(),
            tenant_id,
            commerce_external_id(i),
            f"Comercio {i}",
            None,
            "{}",
            True,
            now,
            now,
        )
        for i in range(COMMERCES)
    ]
    operators = [
        (
            uuid.uuid4(),
            tenant_id,
            "SALESMAN",
            f"OP-{i:03d}",
            f"Operador {i}",
            None,
            None,
            True,
            now,
            now,
        )
        for i in range(OPERATORS)
    ]
    activities = []
    for i in range(tasks):
        status = "READY" if i % 10 < 7 else ("COMPLETED" if i % 10 < 9 else "CANCELED")
        activities.append(
            (
                uuid.uuid4(),
                tenant_id,
                "TASK",
                CHANNELS[i % len(CHANNELS)],
                status,
                "Visita mensual",
                commerces[i % COMMERCES][0],
                operators[i % OPERATORS][0],
                EPOCH + timedelta(minutes=rng.randrange(0, 60 * 24 * 900)),
                None,
                f"bench-{i}",
                None,
                None,
                "ACTIVITY",
                0,
                None,
                now,
                now,
            )
        )
    return {"commerces": commerces, "operators": operators, "activities": activities}


COLUMNS = {
    "commerces": [
        "id", "tenant_id", "external_id", "name", "tax_id", "metadata", "is_active",
        "created_at", "updated_at",
    ],
    "operators": [
        "id", "tenant_id", "type", "external_id", "name", "email", "phone", "is_active",
        "created_at", "updated_at",
    ],
    "activities": [
        "id", "tenant_id", "type", "channel", "status", "reason", "commerce_id", "operator_id",
        "scheduled_at", "occurred_at", "idempotency_key", "provider_activity_id",
        "parent_activity_id", "origin", "dispatch_attempts", "last_dispatch_error",
        "created_at", "updated_at",
    ],
}  # fmt: skip


async def _copy_postgres(settings: Settings, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    url = settings.resolved_database_url().replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            for table, records in rows.items():
                await connection.copy_records_to_table(
                    table, records=records, columns=COLUMNS[table]
                )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


def _insert_sqlite(settings: Settings, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    path = settings.resolved_database_url().split("///", 1)[1]
    connection = sqlite3.connect(path)
    try:
        with connection:
            for table, records in rows.items():
                columns = COLUMNS[table]
                placeholders = ", ".join("?" for _ in columns)
                connection.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
                    ([_sqlite_value(v) for v in record] for record in records),
                )
        connection.execute("ANALYZE")
    finally:
        connection.close()


async def ready_tasks(settings: Settings, tenant_id: uuid.UUID, limit: int) -> list[str]:
    """``activity_id,commerce_external_id`` lines for READY tasks without a result."""
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    async with factory() as session:
        result = await session.execute(
            select(Activity.id, Commerce.external_id)
            .join(Commerce, Commerce.id == Activity.commerce_id)
            .where(Activity.tenant_id == tenant_id, Activity.status == "READY")
            .limit(limit)
        )
        lines = [f"{row[0]},{row[1]}" for row in result]
    await engine.dispose()
    return lines


async def deep_cursor(settings: Settings, tenant_id: uuid.UUID, depth: int) -> str:
    """A keyset cursor positioned ``depth`` rows into the tenant's task list."""
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    async with factory() as session:
        row = (
            await session.execute(
                select(Activity.scheduled_at, Activity.id)
                .where(Activity.tenant_id == tenant_id)
                .order_by(Activity.scheduled_at.desc(), Activity.id.desc())
                .offset(depth)
                .limit(1)
            )
        ).one()
    await engine.dispose()
    return Cursor(at=row[0], id=row[1]).encode()
