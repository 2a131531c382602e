"""An integrator's client, generated from the OpenAPI document, walks the integration flow against
a real ``taskbridge serve``: list the result-type configs, list the tasks, submit a result.

Every call goes through the generated operations and typed models and every assertion is on the
parsed objects, so a document that lies breaks this test: a wrong path or operation, a field it
omits or types wrongly (the generated ``from_dict`` fails), a field it does not declare (the parsed
object no longer renders back to the body the server sent), a status it does not list
(``raise_on_unexpected_status``).
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.config import Settings
from tests.client.conftest import PACKAGE, document
from tests.factories import SEED_RESULT_TYPES, World, build_world
from tests.servers import Server, server_env, start_server, stop, wait_for


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[Server]:
    started = start_server(server_env(settings), tmp_path)
    try:
        wait_for([started])
        yield started
    finally:
        stop([started.process])


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _as_sent(answer: Any) -> Any:
    """The parsed answer rendered back to JSON: equal to the body sent when the document
    declares every field the server sent, with its type."""
    parsed = answer.parsed
    rendered = [item.to_dict() for item in parsed] if isinstance(parsed, list) else parsed.to_dict()
    assert rendered == json.loads(answer.content), (
        "the body has fields the document does not declare"
    )
    return parsed


async def test_the_generated_client_walks_the_integration_flow(
    generated_client: ModuleType,
    session_factory: async_sessionmaker[AsyncSession],
    server: Server,
    tmp_path: Path,
) -> None:
    world: World = await build_world(session_factory)
    async with httpx.AsyncClient(base_url=server.url) as http:
        served = (await http.get("/openapi.json")).json()
    assert served == document(tmp_path), "the client was not generated from the served document"
    integration = "api.integration"
    client = generated_client.AuthenticatedClient(
        base_url=server.url,
        token=world.key,
        prefix="",
        auth_header_name="x-api-key",
        raise_on_unexpected_status=True,
    )

    answer = await _module(f"{integration}.list_task_result_type_configs").asyncio_detailed(
        client=client
    )
    configs = _as_sent(answer)
    models = _module("models")
    assert all(isinstance(config, models.ResultTypeConfig) for config in configs)
    assert [(c.code, c.requires_future_scheduled_at) for c in configs] == [
        (code, future) for code, _, future in SEED_RESULT_TYPES
    ]

    listing = _module(f"{integration}.list_tasks")
    page = _as_sent(await listing.asyncio_detailed(client=client))
    assert isinstance(page, models.TaskPage)
    (task,) = page.data
    assert (task.id, task.commerce_external_id, task.result) == (world.task.id, "COM-001", None)
    assert (page.meta.total, page.meta.page) == (1, 1)

    submission = models.ResultSubmission(
        activity_id=task.id,
        commerce_external_id=task.commerce_external_id,
        occurred_at=datetime(2026, 4, 11, 10, 30, tzinfo=UTC),
        status=models.ResultStatus.EFFECTIVE,
        task_result=models.TaskResultIn(result=configs[0].code, comment="Pedido de 12 cajas"),
    )
    submit = _module(f"{integration}.submit_task_result")
    answer = await submit.asyncio_detailed(
        client=client, body=submission, idempotency_key=uuid.uuid4().hex
    )
    assert answer.status_code == 201
    stored = _as_sent(answer)
    assert isinstance(stored, models.ResultRead)
    assert (stored.activity_id, stored.status, stored.task_result.result) == (
        world.task.id,
        "EFFECTIVE",
        "SALE_COMPLETED",
    )
    assert stored.task_result.comment == "Pedido de 12 cajas"

    (task,) = _as_sent(await listing.asyncio_detailed(client=client)).data
    assert task.result is not None
    assert (task.result.id, task.result.task_result.result) == (stored.id, "SALE_COMPLETED")


async def test_the_generated_client_reads_a_refusal_as_the_documented_error(
    generated_client: ModuleType,
    session_factory: async_sessionmaker[AsyncSession],
    server: Server,
) -> None:
    world: World = await build_world(session_factory)
    client = generated_client.AuthenticatedClient(
        base_url=server.url, token=world.key, prefix="", auth_header_name="x-api-key"
    )
    models = _module("models")
    submission = models.ResultSubmission(
        activity_id=world.task.id,
        commerce_external_id="COM-001",
        occurred_at=datetime(2026, 4, 11, 10, 30, tzinfo=UTC),
        status=models.ResultStatus.EFFECTIVE,
        task_result=models.TaskResultIn(result="Venta completada"),
    )
    answer = await _module("api.integration.submit_task_result").asyncio_detailed(
        client=client, body=submission
    )
    assert answer.status_code == 400
    refusal = _as_sent(answer)
    assert isinstance(refusal, models.Error)
    assert (refusal.status_code, refusal.error) == (400, "Bad Request")
    assert refusal.message.startswith("task_result.result: unknown result code 'Venta completada'")
    assert [detail.field for detail in refusal.details] == ["task_result.result"]
