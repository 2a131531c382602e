"""Operators: bulk upsert by (type, external id), search, update."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.commerces.schemas import SyncSummary
from taskbridge.errors import AppError, BadRequest, NotFound
from taskbridge.kit.time import utcnow
from taskbridge.models import Operator
from taskbridge.operators.repository import OperatorRepository
from taskbridge.operators.schemas import OperatorItem, OperatorUpdate

T = TypeVar("T")


async def get(session: AsyncSession, tenant_id: uuid.UUID, operator_id: uuid.UUID) -> Operator:
    found = await OperatorRepository(session, tenant_id).get(operator_id)
    if found is None:
        raise NotFound(f"Operator '{operator_id}' not found")
    return found


def _the_only(external_id: str, found: Sequence[tuple[str, T]], field: str) -> T:
    """The one operator of ``found`` (its types and values); 404 when none, 400 when several
    types share the external id."""
    if not found:
        raise NotFound(f"Operator '{external_id}' not found")
    if len(found) > 1:
        types = ", ".join(type_ for type_, _ in found)
        raise BadRequest(f"'{external_id}' matches several operators ({types})", field=field)
    return found[0][1]


async def get_by_external_id(
    session: AsyncSession, tenant_id: uuid.UUID, external_id: str, *, field: str
) -> Operator:
    """The operator with this external id; 404 when none, 400 when several types share it."""
    found = await OperatorRepository(session, tenant_id).find_by_external_id(external_id)
    return _the_only(external_id, [(o.type, o) for o in found], field)


async def resolve_external_ids(
    session: AsyncSession, tenant_id: uuid.UUID, external_ids: Sequence[str], *, field: str
) -> dict[str, uuid.UUID | AppError]:
    """Each external id's operator id, or the error :func:`get_by_external_id` raises for it,
    in a few statements (the CSV import)."""
    found = await OperatorRepository(session, tenant_id).types_by_external_id(external_ids)
    resolved: dict[str, uuid.UUID | AppError] = {}
    for external_id in external_ids:
        try:
            resolved[external_id] = _the_only(external_id, found.get(external_id, []), field)
        except AppError as exc:
            resolved[external_id] = exc
    return resolved


async def search(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    q: str | None,
    type_: str | None,
    page: int,
    per_page: int,
) -> tuple[Sequence[Operator], int]:
    repo = OperatorRepository(session, tenant_id)
    return await repo.search(q, type_, (page - 1) * per_page, per_page)


async def sync(
    session: AsyncSession, tenant_id: uuid.UUID, items: Sequence[OperatorItem]
) -> SyncSummary:
    """Create or update by (``type``, ``external_id``), in bulk."""
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(items):
        key = (str(item.type), item.external_id)
        if key in seen:
            raise BadRequest(
                f"operator {key[0]} '{key[1]}' repeats item {seen[key]}",
                field=f"items.{index}.external_id",
            )
        seen[key] = index
    repo = OperatorRepository(session, tenant_id)
    existing = await repo.ids_by_key(list(seen))
    now = utcnow()
    to_insert, to_update = [], []
    for item in items:
        key = (str(item.type), item.external_id)
        values = {
            "name": item.name,
            "email": item.email,
            "phone": item.phone,
            "updated_at": now,
            "is_active": True,
        }
        if key in existing:
            to_update.append({"id": existing[key], **values})
        else:
            to_insert.append(
                {
                    "id": uuid.uuid4(),
                    "type": key[0],
                    "external_id": key[1],
                    "created_at": now,
                    **values,
                }
            )
    await repo.insert_many(to_insert)
    await repo.update_many(to_update)
    return SyncSummary(created=len(to_insert), updated=len(to_update), total=len(items))


async def update(
    session: AsyncSession, tenant_id: uuid.UUID, operator_id: uuid.UUID, data: OperatorUpdate
) -> Operator:
    """Only the fields sent change; one ``operator.updated`` audit entry with the fields whose
    value changed (none when nothing did)."""
    operator = await get(session, tenant_id, operator_id)
    changes = data.model_dump(exclude_unset=True)
    before = {field: getattr(operator, field) for field in changes}
    for field, value in changes.items():
        setattr(operator, field, value)
    await session.flush()
    after = {field: getattr(operator, field) for field in changes}
    audit.record(
        session, tenant_id, "operator.updated", "operator", operator.id, before=before, after=after
    )
    return operator
