"""Stored results to the result wire shape.

:func:`result_document` is the one rendering of a result: JSON-ready, camelCase, in the field
order of :class:`ResultRead`. The models are validated from it where a model is wanted (the admin
shapes, the web panel), so the hot paths can serialise the document without pydantic models.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from pydantic_core import to_json

from taskbridge.kit.time import format_timestamp
from taskbridge.results.schemas import ResultHistoryRead


class StoredResult(Protocol):
    """What a result is rendered from: an ``ActivityResult`` or a row read with Core."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def activity_id(self) -> uuid.UUID: ...
    @property
    def provider_activity_id(self) -> str | None: ...
    @property
    def commerce_external_id(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def external_status(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def contact_type(self) -> str | None: ...
    @property
    def operator_external_id(self) -> str | None: ...
    @property
    def future_scheduled_at(self) -> datetime | None: ...
    @property
    def payload(self) -> dict[str, Any] | None: ...
    @property
    def raw_payload(self) -> dict[str, Any] | None: ...
    @property
    def follow_up_activity_id(self) -> uuid.UUID | None: ...
    @property
    def created_at(self) -> datetime: ...


def result_document(result: StoredResult) -> dict[str, Any]:
    """The result as the API shows it, ready for a JSON encoder."""
    future = result.future_scheduled_at
    follow_up = result.follow_up_activity_id
    return {
        "id": str(result.id),
        "activityId": str(result.activity_id),
        "providerActivityId": result.provider_activity_id,
        "commerceExternalId": result.commerce_external_id,
        "occurredAt": format_timestamp(result.occurred_at),
        "status": result.status,
        "externalStatus": result.external_status,
        "source": result.source,
        "taskResult": {
            "result": result.code,
            "label": result.label,
            "comment": result.comment,
            "contactType": result.contact_type,
            "operatorExternalId": result.operator_external_id,
            "futureScheduledAt": None if future is None else format_timestamp(future),
            "payload": result.payload,
        },
        "rawPayload": result.raw_payload,
        "followUpActivityId": None if follow_up is None else str(follow_up),
        "createdAt": format_timestamp(result.created_at),
    }


class StoredResultHistory(StoredResult, Protocol):
    @property
    def superseded_at(self) -> datetime | None: ...


def result_json(result: StoredResult) -> bytes:
    """The result as a submission's 201 answers it: the bytes :class:`ResultRead` would dump
    (its fields, in its order, timestamps already in the wire format), without building it."""
    return to_json(result_document(result))


def present_result_history(result: StoredResultHistory) -> ResultHistoryRead:
    superseded = result.superseded_at
    return ResultHistoryRead.model_validate(
        {
            **result_document(result),
            "supersededAt": None if superseded is None else format_timestamp(superseded),
        }
    )
