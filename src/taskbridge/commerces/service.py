"""Commerces: bulk upsert by external id, search, update."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.commerces.repository import CommerceRepository
from taskbridge.commerces.schemas import CommerceItem, CommerceUpdate, SyncSummary
from taskbridge.errors import BadRequest, NotFound
from taskbridge.kit.time import utcnow
from taskbridge.models import Commerce


async def get(session: AsyncSession, tenant_id: uuid.UUID, commerce_id: uuid.UUID) -> Commerce:
    found = await CommerceRepository(session, tenant_id).get(commerce_id)
    if found is None:
        raise NotFound(f"Commerce '{commerce_id}' not found")
    return found


def _missing(external_id: str) -> NotFound:
    return NotFound(f"Commerce '{external_id}' not found")


async def get_by_external_id(
    session: AsyncSession, tenant_id: uuid.UUID, external_id: str
) -> Commerce:
    found = await CommerceRepository(session, tenant_id).get_by_external_id(external_id)
    if found is None:
        raise _missing(external_id)
    return found


async def resolve_external_ids(
    session: AsyncSession, tenant_id: uuid.UUID, external_ids: Sequence[str]
) -> dict[str, uuid.UUID | NotFound]:
    """Each external id's commerce id, or the 404 :func:`get_by_external_id` raises for it,
    in a few statements (the CSV import)."""
    found = await CommerceRepository(session, tenant_id).ids_by_external_id(external_ids)
    return {
        external_id: found.get(external_id) or _missing(external_id) for external_id in external_ids
    }


async def search(
    session: AsyncSession, tenant_id: uuid.UUID, q: str | None, page: int, per_page: int
) -> tuple[Sequence[Commerce], int]:
    return await CommerceRepository(session, tenant_id).search(q, (page - 1) * per_page, per_page)


async def sync(
    session: AsyncSession, tenant_id: uuid.UUID, items: Sequence[CommerceItem]
) -> SyncSummary:
    """Create or update by ``external_id``, in bulk; a repeated external id is a 400."""
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.external_id in seen:
            raise BadRequest(
                f"external id '{item.external_id}' repeats item {seen[item.external_id]}",
                field=f"items.{index}.external_id",
            )
        seen[item.external_id] = index
    repo = CommerceRepository(session, tenant_id)
    existing = await repo.ids_by_external_id(seen)
    now = utcnow()
    to_insert, to_update = [], []
    for item in items:
        values = {
            "name": item.name,
            "tax_id": item.tax_id,
            "metadata_": item.metadata or {},
            "updated_at": now,
            "is_active": True,
        }
        if item.external_id in existing:
            to_update.append({"id": existing[item.external_id], **values})
        else:
            to_insert.append(
                {"id": uuid.uuid4(), "external_id": item.external_id, "created_at": now, **values}
            )
    await repo.insert_many(to_insert)
    await repo.update_many(to_update)
    return SyncSummary(created=len(to_insert), updated=len(to_update), total=len(items))


async def update(
    session: AsyncSession, tenant_id: uuid.UUID, commerce_id: uuid.UUID, data: CommerceUpdate
) -> Commerce:
    """Only the fields sent change; one ``commerce.updated`` audit entry with the fields whose
    value changed (none when nothing did)."""
    commerce = await get(session, tenant_id, commerce_id)
    changes = data.model_dump(exclude_unset=True)
    before = {field: getattr(commerce, _column(field)) for field in changes}
    for field, value in changes.items():
        setattr(commerce, _column(field), value)
    await session.flush()
    after = {field: getattr(commerce, _column(field)) for field in changes}
    audit.record(
        session, tenant_id, "commerce.updated", "commerce", commerce.id, before=before, after=after
    )
    return commerce


def _column(field: str) -> str:
    return "metadata_" if field == "metadata" else field
