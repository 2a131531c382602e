"""What the integration tests share: paths, the contract's shapes, request builders, DB pokes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.models import Activity, ActivityResult
from tests.error_bodies import ErrorBody
from tests.factories import World, create_commerce, create_operator, create_task

CONFIGS = "/api/integration/task-result-type-configs"
TASKS = "/api/integration/activities/tasks"
SUBMIT = "/api/integration/activity-results/tasks"
ME = "/api/integration/me"

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

TASK_KEYS = {
    "id",
    "activityOrigin",
    "type",
    "status",
    "channel",
    "scheduledAt",
    "occurredAt",
    "createdAt",
    "updatedAt",
    "lifecycleStatus",
    "lifecycleStatusLabel",
    "lifecycleStatusDetail",
    "canForceRetryDispatch",
    "commerceExternalId",
    "commerceName",
    "operatorExternalId",
    "operatorName",
    "providerActivityId",
    "reason",
    "parentActivityId",
    "result",
}
RESULT_KEYS = {
    "id",
    "activityId",
    "providerActivityId",
    "commerceExternalId",
    "occurredAt",
    "status",
    "externalStatus",
    "source",
    "taskResult",
    "rawPayload",
    "followUpActivityId",
    "createdAt",
}
TASK_RESULT_KEYS = {
    "result",
    "label",
    "comment",
    "contactType",
    "operatorExternalId",
    "futureScheduledAt",
    "payload",
}
UNAUTHORIZED = ErrorBody(
    {"statusCode": 401, "error": "Unauthorized", "message": "API key missing or invalid"}
)


def error(status: int, message: str, **extra: Any) -> ErrorBody:
    """The contract's error body (with any well-formed ``requestId``), written out here rather
    than rendered by the code under test."""
    phrases = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        409: "Conflict",
        413: "Request Entity Too Large",
        422: "Unprocessable Entity",
        429: "Too Many Requests",
        500: "Internal Server Error",
    }
    return ErrorBody({"statusCode": status, "error": phrases[status], "message": message, **extra})


def forbidden(permission: str) -> ErrorBody:
    return error(403, "Insufficient permissions", requiredPermission=permission)


def stamp(value: datetime) -> str:
    return format_timestamp(value)


def in_days(days: float) -> str:
    return stamp(utcnow() + timedelta(days=days))


def submission(
    activity_id: uuid.UUID | str | None,
    result: str = "SALE_COMPLETED",
    *,
    status: str = "EFFECTIVE",
    commerce: str = "COM-001",
    **fields: Any,
) -> dict[str, Any]:
    """A valid submission body; ``task_result`` fields go in ``fields['task_result']``."""
    body: dict[str, Any] = {
        "commerce_external_id": commerce,
        "occurred_at": "2026-04-11T10:30:00.000Z",
        "status": status,
        "task_result": {"result": result, **fields.pop("task_result", {})},
    }
    if activity_id is not None:
        body["activity_id"] = str(activity_id)
    body.update(fields)
    return body


def reschedule(activity_id: uuid.UUID | str, days: float = 3, **fields: Any) -> dict[str, Any]:
    return submission(
        activity_id, "RESCHEDULE", task_result={"future_scheduled_at": in_days(days)}, **fields
    )


def submission_for(world: World, result: str = "SALE_COMPLETED", **fields: Any) -> dict[str, Any]:
    return submission(world.task.id, result, **fields)


async def set_status(
    factory: async_sessionmaker[AsyncSession],
    activity_id: uuid.UUID,
    status: str,
    *,
    last_dispatch_error: str | None = None,
) -> None:
    """Put an activity in an internal status directly, as the dispatcher or an admin would."""
    async with session_scope(factory) as session:
        await session.execute(
            update(Activity)
            .where(Activity.id == activity_id)
            .values(status=status, last_dispatch_error=last_dispatch_error)
        )


async def results_of(
    factory: async_sessionmaker[AsyncSession], activity_id: uuid.UUID
) -> list[ActivityResult]:
    """Every stored result of the activity, oldest first."""
    async with session_scope(factory) as session:
        rows = await session.scalars(
            select(ActivityResult)
            .where(ActivityResult.activity_id == activity_id)
            .order_by(ActivityResult.created_at, ActivityResult.id)
        )
        return list(rows.all())


async def count_results(factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(factory) as session:
        return int(await session.scalar(select(func.count(ActivityResult.id))) or 0)


async def get_activity(
    factory: async_sessionmaker[AsyncSession], activity_id: uuid.UUID
) -> Activity:
    async with session_scope(factory) as session:
        found = await session.get(Activity, activity_id)
        assert found is not None
        return found


async def add_tasks(
    factory: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    scheduled: list[datetime],
    **fields: Any,
) -> list[Activity]:
    """One task per ``scheduled`` instant (COM-001 / OP-17 unless ``fields`` say otherwise)."""
    async with session_scope(factory) as session:
        return [
            await create_task(session, tenant_id, scheduled_at=at, **fields) for at in scheduled
        ]


async def add_commerce_and_operator(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, suffix: str
) -> None:
    """``COM-<suffix>`` (``Comercio <suffix>``) and ``OP-<suffix>`` (``Operador <suffix>``)."""
    async with session_scope(factory) as session:
        await create_commerce(session, tenant_id, f"COM-{suffix}", f"Comercio {suffix}")
        await create_operator(session, tenant_id, f"OP-{suffix}", f"Operador {suffix}")


@contextmanager
def sent_statements(app: FastAPI, keep: Callable[[str], bool] = bool) -> Iterator[list[str]]:
    """The SQL statements ``app``'s engine sends meanwhile (those ``keep`` accepts); a fast
    path's statements on a driver connection or the SQLite writer's are not among them."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if keep(statement):
            sent.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def terminate_other_connections(factory: async_sessionmaker[AsyncSession]) -> None:
    """Kill every other connection to this PostgreSQL database, pooled ones included, as a
    restart of the server would."""
    async with session_scope(factory) as session:
        await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
