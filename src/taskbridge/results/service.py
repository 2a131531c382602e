"""Result submission: the contract's rules, in the contract's order, in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities import service as activities
from taskbridge.activities.service import LockedActivity, ResultRow
from taskbridge.activities.status import ActivityStatus
from taskbridge.errors import BadRequest, Conflict, NotFound
from taskbridge.events import service as events
from taskbridge.events.schemas import EventType
from taskbridge.kit.time import utcnow
from taskbridge.models import Activity, ActivityResult
from taskbridge.result_types import service as result_types
from taskbridge.result_types.service import Catalogue, CatalogueEntry
from taskbridge.results.presenters import result_document
from taskbridge.results.repository import ReplacedResult, ResultRepository
from taskbridge.results.schemas import FINAL_STATUSES, ResultStatus, ResultSubmission
from taskbridge.results.stores import NeedsTheSession, SessionStore, SubmissionStore

RESULT_FIELD = "task_result.result"
FUTURE_FIELD = "task_result.future_scheduled_at"


@dataclass(frozen=True, slots=True)
class SubmittedResult:
    """A result as :func:`submit_result` stored it (every column; not an ORM instance)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    activity_id: uuid.UUID
    status: str
    code: str
    label: str
    comment: str | None
    contact_type: str | None
    operator_external_id: str | None
    future_scheduled_at: datetime | None
    payload: dict[str, Any] | None
    raw_payload: dict[str, Any] | None
    external_status: str | None
    provider_activity_id: str | None
    commerce_external_id: str
    occurred_at: datetime
    source: str
    superseded_at: datetime | None
    follow_up_activity_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who submits: the tenant, the key (if any) and how events name the actor."""

    tenant_id: uuid.UUID
    actor: str
    api_key_id: uuid.UUID | None = None
    source: str = "ACTIVITY"
    locale: str | None = None
    """The tenant's language, when the caller knows it (read when needed otherwise)."""


def _unknown_code_message(value: str, active: Sequence[CatalogueEntry]) -> str:
    valid = ", ".join(rt.code for rt in active) or "none are configured"
    message = f"unknown result code '{value}'"
    wanted = value.strip().casefold()
    for rt in active:
        labels = [rt.label, *(rt.translations or {}).values()]
        if any(label.strip().casefold() == wanted for label in labels):
            message += f'; send the code "{rt.code}", not the label "{value}"'
            break
    return f"{message}; valid codes: {valid}"


def resolve_result_type(value: str, catalogue: Catalogue) -> CatalogueEntry:
    """Rule 3: an active code of the tenant; a label gets a hint naming the code."""
    found = catalogue.by_code(value)
    if found is None:
        raise BadRequest(_unknown_code_message(value, catalogue.entries), field=RESULT_FIELD)
    return found


def check_future_date(result_type: CatalogueEntry, future: datetime | None, now: datetime) -> None:
    """Rule 4: codes that require it need ``future_scheduled_at`` strictly after ``now``."""
    if not result_type.requires_future_scheduled_at:
        return
    if future is None:
        raise BadRequest(f"is required for result '{result_type.code}'", field=FUTURE_FIELD)
    if future <= now:
        raise BadRequest(
            f"must be in the future for result '{result_type.code}'", field=FUTURE_FIELD
        )


def _check_commerce(activity: LockedActivity, external_id: str) -> None:
    """Rule 5b: the commerce exists in the tenant (404) and is the activity's (400)."""
    if activity.named_commerce_id is None:
        raise NotFound(f"Commerce '{external_id}' not found")
    if activity.named_commerce_id != activity.commerce_id:
        raise BadRequest(
            f"commerce '{external_id}' is not the commerce of activity '{activity.id}'",
            field="commerce_external_id",
        )


def _check_replaceable(
    activity: LockedActivity, replaced: ReplacedResult | None, override: bool
) -> None:
    """Rule 6: a final result or a canceled activity needs ``hard_override``."""
    if override:
        return
    if activity.status == ActivityStatus.CANCELED:
        raise Conflict(
            f"Activity '{activity.id}' is CANCELED; send hard_override: true to record a result"
        )
    if replaced is not None and replaced.status in FINAL_STATUSES:
        raise Conflict(
            f"Activity '{activity.id}' already has a final result "
            f"({replaced.status}); send hard_override: true to replace it"
        )


async def submit_result(
    session: AsyncSession,
    submitter: Submitter,
    data: ResultSubmission,
    *,
    received_at: datetime | None = None,
    catalogue: Catalogue | None = None,
) -> SubmittedResult:
    """:func:`record_result` in ``session`` (its events wake the feed once it commits).

    ``catalogue`` is the tenant's active result types when the caller holds a fresh enough
    copy; read from the database otherwise.
    """
    if catalogue is None:
        catalogue = await result_types.load_catalogue(session, submitter.tenant_id)
    stored = await record_result(
        SessionStore(session, submitter.tenant_id),
        submitter,
        data,
        received_at=received_at,
        catalogue=catalogue,
    )
    events.written(session)
    return stored


async def record_result(
    store: SubmissionStore,
    submitter: Submitter,
    data: ResultSubmission,
    *,
    received_at: datetime | None,
    catalogue: Catalogue,
) -> SubmittedResult:
    """Validate in the contract's order, then store, move the activity and create a follow-up.

    ``received_at`` is the moment the request arrived: a future date is judged against it, not
    against however long authentication and parsing took.

    The common case (no result to replace, no follow-up) is two statements after the lock on
    PostgreSQL (four on SQLite): the current result superseded (none, here), then the result,
    the activity, its status event and the feed's events written with every value known here
    (``SubmissionStore.store``), no unit-of-work flush, no reload. A refusal after the
    supersede (rule 6) is rolled back with the rest of the caller's transaction.
    """
    now = utcnow()
    tenant_id = submitter.tenant_id
    if data.activity_id is None and data.provider_activity_id is None:
        raise BadRequest(
            "one of activity_id or provider_activity_id is required", field="activity_id"
        )
    task_result = data.task_result
    result_type = resolve_result_type(task_result.result, catalogue)
    check_future_date(result_type, task_result.future_scheduled_at, received_at or now)
    wants_follow_up = (
        task_result.future_scheduled_at is not None and result_type.requires_future_scheduled_at
    )
    if wants_follow_up and not store.handles_follow_ups:
        raise NeedsTheSession
    activity = activities.found_for_submission(
        await store.lock(
            activity_id=data.activity_id,
            provider_activity_id=None if data.activity_id else data.provider_activity_id,
            commerce_external_id=data.commerce_external_id,
        ),
        activity_id=data.activity_id,
        provider_activity_id=data.provider_activity_id,
    )
    _check_commerce(activity, data.commerce_external_id)
    # Read only now that the lock is held: a submission that waited for it sees the result the
    # previous one stored, and replaces it (or is refused by rule 6) instead of adding a second.
    replaced = await store.supersede_current(activity.id, now)
    _check_replaceable(activity, replaced, data.hard_override)
    completes = data.status in FINAL_STATUSES
    moves = completes and activities.check_completion(activity, forced=data.hard_override)
    if replaced is not None and replaced.follow_up_activity_id is not None:
        await store.cancel_unstarted_follow_up(
            replaced.follow_up_activity_id, actor=submitter.actor
        )
    result_id = uuid.uuid4()
    follow_up = None
    if wants_follow_up:
        assert task_result.future_scheduled_at is not None
        follow_up = await store.create_follow_up(
            activity,
            scheduled_at=task_result.future_scheduled_at,
            result_id=result_id,
            actor=submitter.actor,
        )
    values: dict[str, Any] = {
        "id": result_id,
        "activity_id": activity.id,
        "status": str(data.status),
        "code": result_type.code,
        "label": result_type.label,
        "comment": task_result.comment,
        "contact_type": None if task_result.contact_type is None else str(task_result.contact_type),
        "operator_external_id": task_result.operator_external_id,
        "future_scheduled_at": task_result.future_scheduled_at,
        "payload": task_result.payload,
        "raw_payload": data.raw_payload,
        "external_status": data.external_status,
        "provider_activity_id": activity.provider_activity_id,
        "commerce_external_id": data.commerce_external_id,
        "occurred_at": data.occurred_at,
        "source": submitter.source,
        "superseded_at": None,
        "follow_up_activity_id": None if follow_up is None else follow_up.id,
        "api_key_id": submitter.api_key_id,
        "created_at": now,
    }
    stored = SubmittedResult(tenant_id=tenant_id, **values)
    new = [
        events.NewEvent(
            type=EventType.RESULT_RECORDED,
            subject_id=result_id,
            data=result_document(stored),
            replaced=replaced is not None,
        )
    ]
    if follow_up is not None or moves:
        locale = submitter.locale or await store.locale()
        new = _with_task_events(new, activity, stored, follow_up, moves, locale)
    writes = activities.submission_writes(
        activity,
        values,
        completes=completes,
        moves=moves,
        now=now,
        actor=submitter.actor,
        reason=f"result {result_type.code} ({data.status})",
        feed=events.rows_of(new, now),
    )
    await store.store(writes)
    return stored


def _with_task_events(
    recorded: list[events.NewEvent],
    activity: LockedActivity,
    stored: SubmittedResult,
    follow_up: Activity | None,
    completed: bool,
    locale: str,
) -> list[events.NewEvent]:
    """The submission's events in the feed's order: the follow-up created, the result, the
    task completed (a follow-up canceled by the replacement was published when it moved).
    Built from the values in hand, as a read of the tasks would show them."""
    new = list(recorded)
    if follow_up is not None:
        new.insert(0, activities.created_follow_up(activity, follow_up, locale=locale))
    if completed:
        current = ResultRow(**{name: getattr(stored, name) for name in ResultRow._fields})
        new.append(
            activities.completed_task(
                activity, current, updated_at=stored.created_at, locale=locale
            )
        )
    return new


async def search(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    status: ResultStatus | None,
    code: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    include_superseded: bool,
    page: int,
    per_page: int,
) -> tuple[Sequence[ActivityResult], int]:
    return await ResultRepository(session, tenant_id).search(
        status=None if status is None else str(status),
        code=code,
        created_from=created_from,
        created_to=created_to,
        include_superseded=include_superseded,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
