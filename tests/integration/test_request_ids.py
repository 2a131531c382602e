"""Every answer carries the request's id (``x-request-id``), every error body too
(``requestId``), and the log lines written while the request is handled carry it as well."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest

from taskbridge.app import create_app
from taskbridge.config import Settings
from tests.factories import World
from tests.integration.support import CONFIGS, TASKS
from tests.users.support import PASSWORD, add_person, bearer

GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_a_well_formed_id_is_the_answers_and_the_error_bodys(
    client: httpx.AsyncClient, world: World
) -> None:
    given = "lb-7f3a.2026:12_01"
    missing = await client.get(
        f"{TASKS}/{uuid.uuid4()}", headers={**world.headers, "X-Request-ID": given}
    )
    assert missing.status_code == 404
    assert missing.headers["x-request-id"] == given
    assert missing.json()["requestId"] == given


async def test_without_an_id_each_request_gets_a_new_one(
    client: httpx.AsyncClient, world: World
) -> None:
    answers = [await client.get(f"{TASKS}/{uuid.uuid4()}", headers=world.headers) for _ in range(2)]
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert all(GENERATED.fullmatch(i) and uuid.UUID(i).version == 4 for i in ids)
    assert ids[0] != ids[1]
    assert [answer.json()["requestId"] for answer in answers] == ids


@pytest.mark.parametrize(
    "malformed", ["", "two words", "x" * 129, "level=error;forged", 'quote"d', "new\\nline"]
)
async def test_a_malformed_id_is_replaced_not_echoed(
    client: httpx.AsyncClient, world: World, malformed: str
) -> None:
    answer = await client.get(
        f"{TASKS}/{uuid.uuid4()}", headers={**world.headers, "X-Request-ID": malformed}
    )
    assert GENERATED.fullmatch(answer.headers["x-request-id"])
    assert answer.json()["requestId"] == answer.headers["x-request-id"]


async def test_every_kind_of_answer_carries_the_id(
    client: httpx.AsyncClient, cached_client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    """Routes, the configs fast path (200 and 304), auth refusals, the body limit's 413 (before
    the app reads anything), the panel's pages and its 404, the OpenAPI document."""
    first = await cached_client.get(CONFIGS, headers=world.headers)
    etag = first.headers["etag"]
    too_large = b"x" * (settings.max_body_bytes + 1)
    answers = {
        "route": await client.get(TASKS, headers=world.headers),
        "fast path": await cached_client.get(CONFIGS, headers=world.headers),
        "fast path 304": await cached_client.get(
            CONFIGS, headers={**world.headers, "If-None-Match": etag}
        ),
        "no key": await client.get(TASKS),
        "too large": await client.post(TASKS, content=too_large, headers=world.headers),
        "panel": await client.get("/admin/login"),
        "panel 404": await client.get("/admin/nowhere"),
        "unknown route": await client.get("/nowhere"),
        "openapi": await client.get("/openapi.json"),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "route": 200,
        "fast path": 200,
        "fast path 304": 304,
        "no key": 401,
        "too large": 413,
        "panel": 200,
        "panel 404": 404,
        "unknown route": 404,
        "openapi": 200,
    }
    for name, answer in answers.items():
        request_id = answer.headers.get_list("x-request-id")
        assert len(request_id) == 1, name
        assert GENERATED.fullmatch(request_id[0]), name
        if answer.headers.get("content-type") == "application/json" and answer.status_code >= 400:
            assert answer.json()["requestId"] == request_id[0], name


async def test_the_lines_logged_during_a_request_carry_its_id(
    settings: Settings, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Built after ``world``'s app: the last app built sets the process's log pipeline.
    app = create_app(settings.model_copy(update={"log_json": True, "log_level": "DEBUG"}))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            person = await add_person(app.state.session_factory, world.tenant.id, "ADMIN")
            headers = await bearer(client, person)
            capsys.readouterr()
            changed = await client.post(
                "/api/auth/change-password",
                headers={**headers, "X-Request-ID": "change-1"},
                json={"current_password": PASSWORD, "new_password": "a-new-long-password"},
            )
    finally:
        await app.state.engine.dispose()
    assert changed.status_code == 200, changed.text
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    [logged] = [line for line in lines if line["event"] == "password_changed"]
    assert logged["request_id"] == "change-1"
    assert logged["logger"] == "taskbridge.users.sessions"
