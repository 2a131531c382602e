"""Event types, the feed's query and its answer."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from taskbridge.kit.case import ResponseModel, examples
from taskbridge.kit.pagination import MAX_PER_PAGE, Limit, PerPage, page_size
from taskbridge.kit.text import NUL, NUL_RULE

MAX_WAIT_SECONDS = 30


class EventType(StrEnum):
    TASK_CREATED = "task.created"
    TASK_DISPATCHED = "task.dispatched"
    TASK_DISPATCH_FAILED = "task.dispatch_failed"
    TASK_CANCELED = "task.canceled"
    TASK_COMPLETED = "task.completed"
    RESULT_RECORDED = "result.recorded"
    FOLLOW_UP_CREATED = "follow_up.created"
    RESULT_TYPE_CREATED = "result_type.created"
    RESULT_TYPE_UPDATED = "result_type.updated"
    RESULT_TYPE_ARCHIVED = "result_type.archived"
    RESULT_TYPE_RESTORED = "result_type.restored"
    RESULT_TYPE_DELETED = "result_type.deleted"


TYPES_RULE = "must be a comma-separated list of: " + ", ".join(t.value for t in EventType)
_ONE_TYPE = "(" + "|".join(t.value.replace(".", "\\.") for t in EventType) + ")"
TYPES_PATTERN = f"^{_ONE_TYPE}(,{_ONE_TYPE})*$"
"""Documented only: the validator gives the message (and forgives spaces after commas)."""


class EventQuery(BaseModel):
    """The feed's query, validated as one model; unknown parameters are refused by the route."""

    after: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=200,
            description="`meta.nextCursor` of an earlier answer (or an event's `id`); absent: "
            "from the oldest event kept",
        ),
    ] = None
    types: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=500,
            description="Only these event types, comma-separated (`task.created,result.recorded`)",
            json_schema_extra={"pattern": TYPES_PATTERN},
        ),
    ] = None
    per_page: PerPage = MAX_PER_PAGE
    limit: Limit | None = None
    wait: Annotated[
        int,
        Field(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="Seconds to wait for an event when there is none yet (long poll)",
        ),
    ] = 0

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if NUL in value:
            # The rule every query parameter answers NUL with, before what the value means.
            raise ValueError(NUL_RULE)
        names = [name.strip() for name in value.split(",")]
        known = {t.value for t in EventType}
        if not names or any(name not in known for name in names):
            raise ValueError(TYPES_RULE)
        return ",".join(dict.fromkeys(names))

    @model_validator(mode="after")
    def _limit_is_per_page(self) -> Self:
        """As on every list: ``limit`` and ``per_page`` name one bound (the most events in
        one answer); both, differing, are a 400 naming ``limit``."""
        given = "per_page" in self.model_fields_set
        self.per_page = page_size(self.per_page, self.limit, per_page_given=given)
        return self

    def type_list(self) -> list[str] | None:
        return None if self.types is None else self.types.split(",")


TASK_EXAMPLE = {"id": "5f0c2a9e-8d7b-4a51-9a43-0d6a0b9f6c11", "status": "PENDING"}
EVENT_EXAMPLE: dict[str, Any] = {
    "id": "MTIzNDU2Ljc4OQ",
    "type": "task.created",
    "subjectId": "5f0c2a9e-8d7b-4a51-9a43-0d6a0b9f6c11",
    "createdAt": "2026-12-01T10:00:00.000Z",
    "replaced": None,
    "data": TASK_EXAMPLE,
}


class EventRead(ResponseModel):
    """One event: `data` is the task, result or result type as the API shows it."""

    model_config = examples(EVENT_EXAMPLE)

    id: str = Field(description="The event's position; a cursor that resumes after it")
    type: EventType
    subject_id: str = Field(description="The task, result or result type the event is about")
    created_at: str
    replaced: bool | None = Field(
        description="On `result.recorded`: whether it superseded a result; null otherwise"
    )
    data: dict[str, Any]


class FeedMeta(ResponseModel):
    model_config = examples({"limit": 100, "nextCursor": "MTIzNDU2Ljc4OQ"})

    limit: int = Field(description="The most events one answer holds (`limit` or `per_page`)")
    next_cursor: str | None = Field(
        description="Send as `after` to read on; null only when nothing was read from the start"
    )


class EventPage(ResponseModel):
    model_config = examples(
        {"data": [EVENT_EXAMPLE], "meta": {"limit": 100, "nextCursor": "MTIzNDU2Ljc4OQ"}}
    )

    data: list[EventRead]
    meta: FeedMeta
