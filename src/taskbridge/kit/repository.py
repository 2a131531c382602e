"""Tenant-scoped repositories: built with a tenant id, every statement filtered by it."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])
Columns = TypeVarTuple("Columns")


class TenantRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def scoped(self, stmt: Select[*Columns], model: Any) -> Select[*Columns]:
        """``stmt`` restricted to this tenant's rows of ``model``."""
        return stmt.where(model.tenant_id == self.tenant_id)
