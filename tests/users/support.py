"""People for the user tests, made through the service as every surface does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.users import service as users
from taskbridge.users.invitations import service as invitations

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    email: str
    tenant_id: uuid.UUID


async def add_person(
    factory: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    role: str,
    email: str | None = None,
    password: str = PASSWORD,
) -> Person:
    address = email or f"{role.lower()}-{uuid.uuid4().hex[:6]}@example.com"
    async with session_scope(factory) as session:
        member = await users.create_member(
            session, tenant_id, email=address, password=password, role=role
        )
    return Person(id=member.user.id, email=address, tenant_id=tenant_id)


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["accessToken"]
    return token


async def bearer(client: httpx.AsyncClient, person: Person) -> dict[str, str]:
    """Headers for acting as ``person`` in their tenant."""
    token = await log_in(client, person.email)
    return {"authorization": f"Bearer {token}", "x-tenant-id": str(person.tenant_id)}


async def join_tenant(
    factory: async_sessionmaker[AsyncSession], email: str, tenant_id: uuid.UUID, role: str
) -> Person:
    """An existing account joins another tenant the only way there is: invited (by the platform
    operator, as the CLI does), then accepting as itself."""
    secret = "support: invitations are signed and read here only"
    async with session_scope(factory) as session:
        issued = await invitations.invite(
            session, secret, tenant_id, email=email, role=role, rank=None, invited_by="cli"
        )
        account = await users.find_account(session, email)
        assert account is not None
        await invitations.accept(session, secret, issued.token, account)
    return Person(id=account.id, email=account.email, tenant_id=tenant_id)
