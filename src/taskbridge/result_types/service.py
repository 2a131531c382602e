"""Result-type rules: immutable codes, non-blank labels, delete only when unused."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.errors import BadRequest, Conflict, NotFound
from taskbridge.events import service as events
from taskbridge.events.schemas import EventType
from taskbridge.models import ResultType
from taskbridge.result_types.repository import ResultTypeRepository
from taskbridge.result_types.schemas import ResultTypeCreate, ResultTypeRead, ResultTypeUpdate


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One active result type, detached from any session."""

    code: str
    label: str
    translations: Mapping[str, str]
    requires_future_scheduled_at: bool


@dataclass(slots=True)
class Catalogue:
    """A tenant's active result types in display order, as read at one instant.

    Safe to share between requests of a process; ``renderings`` lets a surface keep what it
    derived from this snapshot (a response body per language) for as long as the snapshot lives.
    """

    entries: tuple[CatalogueEntry, ...]
    renderings: dict[tuple[str, ...], tuple[bytes, str]] = field(default_factory=dict)

    def by_code(self, code: str) -> CatalogueEntry | None:
        return next((entry for entry in self.entries if entry.code == code), None)


async def load_catalogue(session: AsyncSession, tenant_id: uuid.UUID) -> Catalogue:
    return Catalogue(
        entries=tuple(
            CatalogueEntry(
                code=rt.code,
                label=rt.label,
                translations=dict(rt.translations or {}),
                requires_future_scheduled_at=rt.requires_future_scheduled_at,
            )
            for rt in await list_active(session, tenant_id)
        )
    )


def localized_label(result_type: ResultType | CatalogueEntry, languages: Sequence[str]) -> str:
    """The administrator's translation for the first preferred language that has one."""
    for language in languages:
        translated = (result_type.translations or {}).get(language)
        if translated:
            return translated
    return result_type.label


async def list_active(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[ResultType]:
    """Active result types in the administrator's display order."""
    return await ResultTypeRepository(session, tenant_id).list(active_only=True)


async def list_all(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[ResultType]:
    """Active ones in display order, then archived ones."""
    return await ResultTypeRepository(session, tenant_id).list(active_only=False)


async def get(session: AsyncSession, tenant_id: uuid.UUID, result_type_id: uuid.UUID) -> ResultType:
    found = await ResultTypeRepository(session, tenant_id).get(result_type_id)
    if found is None:
        raise NotFound(f"Result type '{result_type_id}' not found")
    return found


def _check_label(label: str, field: str = "label") -> str:
    if not label.strip():
        raise BadRequest("must not be blank", field=field)
    return label.strip()


def _check_translations(translations: dict[str, str]) -> dict[str, str]:
    return {lang: _check_label(text, f"translations.{lang}") for lang, text in translations.items()}


def audited(result_type: ResultType) -> dict[str, Any]:
    """The fields an audit entry shows of a result type."""
    return {
        "code": result_type.code,
        "label": result_type.label,
        "translations": dict(result_type.translations),
        "requires_future_scheduled_at": result_type.requires_future_scheduled_at,
        "position": result_type.position,
        "is_active": result_type.is_active,
    }


def _audit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    action: str,
    result_type: ResultType,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    target = "result_type"
    audit.record(session, tenant_id, action, target, result_type.id, before=before, after=after)


async def _publish(
    session: AsyncSession, tenant_id: uuid.UUID, event_type: EventType, *changed: ResultType
) -> None:
    """The feed's events (one insert), each carrying its result type as the admin API shows it."""
    new = [
        events.NewEvent(
            type=event_type,
            subject_id=rt.id,
            data=ResultTypeRead.model_validate(rt).model_dump(mode="json", by_alias=True),
        )
        for rt in changed
    ]
    await events.append(session, tenant_id, new)


async def create(session: AsyncSession, tenant_id: uuid.UUID, data: ResultTypeCreate) -> ResultType:
    repo = ResultTypeRepository(session, tenant_id)
    if await repo.get_by_code(data.code) is not None:
        raise Conflict(f"Result type code '{data.code}' already exists in this tenant")
    result_type = ResultType(
        id=uuid.uuid4(),
        code=data.code,
        label=_check_label(data.label),
        translations=_check_translations(data.translations),
        requires_future_scheduled_at=data.requires_future_scheduled_at,
        position=await repo.next_position(),
        is_active=True,
    )
    repo.add(result_type)
    await session.flush()
    _audit(session, tenant_id, "result_type.created", result_type, None, audited(result_type))
    await _publish(session, tenant_id, EventType.RESULT_TYPE_CREATED, result_type)
    return result_type


async def update(
    session: AsyncSession, tenant_id: uuid.UUID, result_type_id: uuid.UUID, data: ResultTypeUpdate
) -> ResultType:
    """Label, translations, flag and position change; the code never does."""
    result_type = await get(session, tenant_id, result_type_id)
    before = audited(result_type)
    if data.label is not None:
        result_type.label = _check_label(data.label)
    if data.translations is not None:
        result_type.translations = _check_translations(data.translations)
    if data.requires_future_scheduled_at is not None:
        result_type.requires_future_scheduled_at = data.requires_future_scheduled_at
    if data.position is not None:
        result_type.position = data.position
    await session.flush()
    _audit(session, tenant_id, "result_type.updated", result_type, before, audited(result_type))
    await _publish(session, tenant_id, EventType.RESULT_TYPE_UPDATED, result_type)
    return result_type


async def set_active(
    session: AsyncSession, tenant_id: uuid.UUID, result_type_id: uuid.UUID, *, is_active: bool
) -> ResultType:
    """Archive (inactive: refused on submit, hidden from configs) or restore."""
    result_type = await get(session, tenant_id, result_type_id)
    if result_type.is_active != is_active:
        before = audited(result_type)
        result_type.is_active = is_active
        if is_active:
            result_type.position = await ResultTypeRepository(session, tenant_id).next_position()
        await session.flush()
        action = "result_type.restored" if is_active else "result_type.archived"
        _audit(session, tenant_id, action, result_type, before, audited(result_type))
        restored, archived = EventType.RESULT_TYPE_RESTORED, EventType.RESULT_TYPE_ARCHIVED
        await _publish(session, tenant_id, restored if is_active else archived, result_type)
    return result_type


async def delete(session: AsyncSession, tenant_id: uuid.UUID, result_type_id: uuid.UUID) -> None:
    repo = ResultTypeRepository(session, tenant_id)
    result_type = await get(session, tenant_id, result_type_id)
    if await repo.is_used(result_type.code):
        raise Conflict(
            f"Result type '{result_type.code}' is used by results and cannot be deleted; "
            "archive it instead"
        )
    before = audited(result_type)
    await repo.delete(result_type)
    await session.flush()
    _audit(session, tenant_id, "result_type.deleted", result_type, before, None)
    await _publish(session, tenant_id, EventType.RESULT_TYPE_DELETED, result_type)


async def reorder(
    session: AsyncSession, tenant_id: uuid.UUID, codes: Sequence[str]
) -> Sequence[ResultType]:
    """Set the display order: ``codes`` must name every active code exactly once."""
    active = await list_active(session, tenant_id)
    by_code = {rt.code: rt for rt in active}
    # Linear: a body of a million codes must not cost a million scans of itself.
    duplicates = sorted(code for code, times in Counter(codes).items() if times > 1)
    if duplicates:
        raise BadRequest(f"code '{duplicates[0]}' is listed more than once", field="codes")
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        raise BadRequest(f"'{unknown[0]}' is not an active code of this tenant", field="codes")
    listed = set(codes)
    missing = [c for c in by_code if c not in listed]
    if missing:
        raise BadRequest(
            f"must list every active code once; missing: {', '.join(missing)}", field="codes"
        )
    before = {"codes": [rt.code for rt in sorted(active, key=lambda rt: rt.position)]}
    moved = [
        by_code[code] for position, code in enumerate(codes) if by_code[code].position != position
    ]
    for position, code in enumerate(codes):
        by_code[code].position = position
    await session.flush()
    await _publish(session, tenant_id, EventType.RESULT_TYPE_UPDATED, *moved)
    after = {"codes": list(codes)}
    audit.record(
        session, tenant_id, "result_type.reordered", "result_type", None, before=before, after=after
    )
    return await list_active(session, tenant_id)
