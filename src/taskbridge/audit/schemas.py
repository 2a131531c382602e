"""The audit log on the wire: the list's query and the entry as read."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from taskbridge.audit.repository import AuditFilters
from taskbridge.errors import BadRequest
from taskbridge.kit.case import ResponseModel, examples
from taskbridge.kit.pagination import (
    DEFAULT_PER_PAGE,
    Limit,
    PageMeta,
    PerPage,
    page_example,
    page_size,
)
from taskbridge.kit.time import AwareDatetime, Timestamp

ENTRY_EXAMPLE: dict[str, Any] = {
    "id": "5c0f3a52-9e1d-4d6b-8f55-0e9f5b1c2a7d",
    "occurredAt": "2026-04-11T10:30:00.000Z",
    "actor": {
        "type": "user",
        "id": "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
        "label": "ana@example.com",
        "address": "203.0.113.7",
    },
    "action": "user.role_changed",
    "target": {"type": "user", "id": "0b8f7c1e-2d3a-4b5c-9d6e-7f8a9b0c1d2e"},
    "changes": {"before": {"role": "VIEWER"}, "after": {"role": "FDE"}},
}

Text = Annotated[str, Field(min_length=1, max_length=400)]


class AuditQuery(BaseModel):
    """The audit log's filters, validated as one model; an unknown parameter is a 400."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    actor: Text | None = Field(
        default=None, description="An actor's id (user, key) or label (email) exactly"
    )
    action: Annotated[str | None, Field(max_length=64, description="e.g. `api_key.created`")] = None
    target_type: Annotated[str | None, Field(max_length=32, description="e.g. `user`")] = None
    target_id: Annotated[str | None, Field(max_length=64)] = None
    since: AwareDatetime | None = Field(
        default=None, alias="from", description="Entries at or after this instant"
    )
    until: AwareDatetime | None = Field(
        default=None, alias="to", description="Entries before this instant"
    )
    cursor: Annotated[str | None, Field(max_length=512)] = None
    per_page: PerPage = DEFAULT_PER_PAGE
    limit: Limit | None = None

    @model_validator(mode="after")
    def _checked_together(self) -> Self:
        """``per_page`` is the page size ``limit`` names (both, differing: 400 naming
        ``limit``); ``to`` comes after ``from``."""
        given = "per_page" in self.model_fields_set
        self.per_page = page_size(self.per_page, self.limit, per_page_given=given)
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise BadRequest("must be after `from`", field="to")
        return self

    def filters(self) -> AuditFilters:
        return AuditFilters(
            actor=self.actor,
            action=self.action,
            target_type=self.target_type,
            target_id=self.target_id,
            since=self.since,
            until=self.until,
        )


class AuditActor(ResponseModel):
    model_config = examples(ENTRY_EXAMPLE["actor"])

    type: str = Field(description="`user`, `api_key`, `cli`, `anonymous` or `system`")
    id: str | None
    label: str
    address: str | None


class AuditTarget(ResponseModel):
    model_config = examples(ENTRY_EXAMPLE["target"])

    type: str
    id: str | None


class AuditEntryRead(ResponseModel):
    """One change: who, from where, what, when, and the changed fields (never a secret)."""

    model_config = examples(ENTRY_EXAMPLE)

    id: uuid.UUID
    occurred_at: Timestamp
    actor: AuditActor
    action: str
    target: AuditTarget
    changes: dict[str, Any]


class AuditPage(ResponseModel):
    model_config = examples(page_example(ENTRY_EXAMPLE))

    data: list[AuditEntryRead]
    meta: PageMeta
