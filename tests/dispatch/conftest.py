"""Dispatch fixtures: loopback allowed, a real receiver, a controllable clock, an admin key."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities.status import Channel
from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch import service
from taskbridge.dispatch.schemas import DispatchConfigCreate, Provider
from taskbridge.dispatch.worker import Dispatcher
from taskbridge.kit.time import utcnow
from taskbridge.models import Activity, Delivery, DeliveryAttempt
from tests.dispatch.receiver import Receiver, running_receiver
from tests.factories import World, build_world, create_key, create_task

SCRIPT = str(Path(sys.executable).with_name("taskbridge"))


def dispatch_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ``taskbridge`` process on the test database, loopback allowed."""
    return {
        "TASKBRIDGE_DATABASE_URL": settings.resolved_database_url(),
        "TASKBRIDGE_DATA_DIR": str(settings.data_dir),
        "TASKBRIDGE_SECRET_KEY": settings.resolved_secret_key(),
        "TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS": "true",
        "TASKBRIDGE_DISPATCH_POLL_INTERVAL": "0.5",
        **extra,
    }


@contextmanager
def spawned_dispatcher(
    settings: Settings, log: Path, **extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``taskbridge dispatcher`` in its own process, its output in ``log``; killed at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKBRIDGE_")}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [SCRIPT, "dispatcher"],
            env={**env, **dispatch_env(settings, **extra)},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: many deliveries or subprocesses (PostgreSQL only)")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or utcnow()

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback endpoints allowed, as the platform operator of a test machine would."""
    return settings.model_copy(
        update={"dispatch_allow_private_networks": True, "dispatch_poll_interval": 0.2}
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class Pusher:
    """The ``acme`` world, an all-permissions key, and a WEBHOOK config for SALESMAN."""

    world: World
    key: str
    config_id: uuid.UUID
    secret: str
    settings: Settings
    factory: async_sessionmaker[AsyncSession]
    made: list[Dispatcher] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.key}

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.world.tenant.id

    def dispatcher(self, clock: FakeClock | None = None, **changes: Any) -> Dispatcher:
        """A dispatcher on the test database (shut down after the test); jitter factor 1."""
        settings = self.settings.model_copy(update=changes) if changes else self.settings
        now = clock or utcnow
        made = Dispatcher(settings, self.factory, now=now, rand=lambda: 0.5)
        self.made.append(made)
        return made

    async def task(self, **fields: Any) -> Activity:
        async with session_scope(self.factory) as session:
            return await create_task(session, self.tenant_id, **fields)

    async def deliveries(self, activity_id: uuid.UUID | None = None) -> list[Delivery]:
        async with session_scope(self.factory) as session:
            stmt = select(Delivery).order_by(Delivery.created_at)
            if activity_id is not None:
                stmt = stmt.where(Delivery.activity_id == activity_id)
            return list((await session.scalars(stmt)).all())

    async def attempts(self) -> list[DeliveryAttempt]:
        async with session_scope(self.factory) as session:
            stmt = select(DeliveryAttempt).order_by(DeliveryAttempt.attempted_at)
            return list((await session.scalars(stmt)).all())

    async def activity(self, activity_id: uuid.UUID) -> Activity:
        async with session_scope(self.factory) as session:
            found = await session.get(Activity, activity_id)
            assert found is not None
            return found


async def make_config(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant_id: uuid.UUID,
    url: str | None,
    *,
    provider: Provider = Provider.WEBHOOK,
    channel: Channel = Channel.SALESMAN,
    **auth: str,
) -> service.ConfigWithSecret:
    async with session_scope(factory) as session:
        return await service.create_config(
            session,
            tenant_id,
            DispatchConfigCreate(channel=channel, provider=provider, endpoint_url=url, **auth),
            settings,
        )


@pytest.fixture
async def pusher(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings, receiver: Receiver
) -> AsyncIterator[Pusher]:
    world = await build_world(session_factory)
    async with session_scope(session_factory) as session:
        key = await create_key(session, world.tenant.id, *TENANT_KEY_PERMISSIONS, name="admin")
    shown = await make_config(session_factory, settings, world.tenant.id, receiver.url)
    pushing = Pusher(
        world=world,
        key=key,
        config_id=shown.config.id,
        secret=shown.signing_secret,
        settings=settings,
        factory=session_factory,
    )
    yield pushing
    for dispatcher in pushing.made:
        await dispatcher.shutdown()
