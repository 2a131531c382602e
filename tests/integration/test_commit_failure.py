"""A failure when the request's transaction commits never reaches the client as a 2xx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from taskbridge.kit.uow import REQUEST_SESSION
from tests.factories import World
from tests.integration.support import SUBMIT, TASKS, count_results, get_activity, submission_for


class CommitRefused(Exception):
    """Raised by the listener: the database refused the commit (disk full, failover...)."""


@pytest.fixture
def failing_commits() -> Iterator[None]:
    """Every request-scoped session fails to commit while the fixture is active."""

    def refuse(session: Session) -> None:
        if session.info.get(REQUEST_SESSION):
            raise CommitRefused("commit refused by the test")

    event.listen(Session, "before_commit", refuse)
    try:
        yield
    finally:
        event.remove(Session, "before_commit", refuse)


def assert_contract_500(response: httpx.Response) -> None:
    assert response.status_code == 500
    body: dict[str, Any] = response.json()
    assert set(body) == {"statusCode", "error", "message", "requestId"}
    assert body["statusCode"] == 500
    assert body["error"] == "Internal Server Error"
    assert body["message"] == f"Internal error (request id {body['requestId']})"
    assert response.headers["x-request-id"] == body["requestId"]
    assert "commit refused" not in response.text
    assert "CommitRefused" not in response.text


async def test_submission_whose_commit_fails_is_a_500_and_stores_nothing(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    failing_commits: None,
) -> None:
    response = await client.post(SUBMIT, headers=world.headers, json=submission_for(world))
    assert_contract_500(response)
    assert await count_results(session_factory) == 0
    assert (await get_activity(session_factory, world.task.id)).status == "READY"


async def test_request_id_is_echoed_when_given(
    client: httpx.AsyncClient, world: World, failing_commits: None
) -> None:
    response = await client.post(
        SUBMIT,
        headers={**world.headers, "x-request-id": "req-42"},
        json=submission_for(world),
    )
    assert_contract_500(response)
    assert response.json()["message"] == "Internal error (request id req-42)"
    assert response.headers["x-request-id"] == "req-42"


async def test_a_failed_commit_does_not_pin_the_idempotency_key(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    headers = {**world.headers, "Idempotency-Key": "commit-fails"}
    body = submission_for(world)

    def refuse(session: Session) -> None:
        if session.info.get(REQUEST_SESSION):
            raise CommitRefused("commit refused by the test")

    event.listen(Session, "before_commit", refuse)
    try:
        failed = await client.post(SUBMIT, headers=headers, json=body)
    finally:
        event.remove(Session, "before_commit", refuse)
    assert_contract_500(failed)
    retried = await client.post(SUBMIT, headers=headers, json=body)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert await count_results(session_factory) == 1


async def test_reads_whose_commit_fails_are_500_too(
    client: httpx.AsyncClient, world: World, failing_commits: None
) -> None:
    assert_contract_500(await client.get(TASKS, headers=world.headers))


async def test_an_unsafe_request_id_is_replaced(
    client: httpx.AsyncClient, world: World, failing_commits: None
) -> None:
    response = await client.post(
        SUBMIT,
        headers={**world.headers, "x-request-id": "x\tlevel=critical " + "y" * 300},
        json=submission_for(world),
    )
    assert_contract_500(response)
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert response.json()["message"] == f"Internal error (request id {request_id})"
