"""A real ``taskbridge serve`` logging everything it can (JSON, DEBUG, access log) through a full
flow: every line is one JSON object, a request's lines carry its id, and no secret the flow
handled appears anywhere in what the process wrote."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskbridge.config import Settings
from tests.servers import HANG_GUARD_SECONDS, SCRIPT, free_port, server_env, stop, wait_for
from tests.servers import Server as ServeProcess
from tests.web.support import csrf_of

CLIENT_REQUEST_ID = "client-chosen.id:42"
NEW_PASSWORD = "an-entirely-new-password-7"
WRONG_PASSWORD = "not-the-password-at-all-3"
AUTH_HEADER_VALUE = "partner-token-that-must-stay-unlogged"


@dataclass
class Served:
    server: ServeProcess
    stdout: Path
    demo: dict[str, Any]

    def lines(self) -> list[str]:
        """Everything the process wrote, once it has exited (stdout and stderr)."""
        return self.stdout.read_text().splitlines() + self.server.output().splitlines()


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[Served]:
    env = server_env(
        settings,
        TASKBRIDGE_LOG_JSON="true",
        TASKBRIDGE_LOG_LEVEL="DEBUG",
        TASKBRIDGE_DISPATCH_POLL_INTERVAL="0.2",
        TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS="true",
    )
    demo = subprocess.run(
        [SCRIPT, "demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    port = free_port()
    stdout, stderr = tmp_path / "serve.out", tmp_path / "serve.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [SCRIPT, "serve", "--port", str(port), "--workers", "1", "--access-log"],
            env=env,
            stdout=out,
            stderr=err,
        )
    server = ServeProcess(process, port, stderr)
    try:
        wait_for([server])
        yield Served(server, stdout, json.loads(demo.stdout))
    finally:
        stop([process])


@dataclass
class Flow:
    """What a full flow handled that must never be logged, and what the log must show."""

    secrets: dict[str, str]
    refused: httpx.Response


def run_full_flow(client: httpx.Client, demo: dict[str, Any]) -> Flow:
    admin, tenant_id = demo["admin"], demo["tenant"]["id"]
    secrets = {"password": admin["password"], "demo key": demo["plaintextKey"]}
    wrong = client.post(
        "/api/auth/login", json={"email": admin["email"], "password": WRONG_PASSWORD}
    )
    assert wrong.status_code == 401
    secrets["wrong password"] = WRONG_PASSWORD

    login = client.post("/api/auth/login", json=admin)
    assert login.status_code == 200, login.text
    secrets["access token"] = login.json()["accessToken"]
    secrets["refresh token"] = login.cookies["tb_refresh"]
    refreshed = client.post(
        "/api/auth/refresh", headers={"cookie": f"tb_refresh={secrets['refresh token']}"}
    )
    assert refreshed.status_code == 200, refreshed.text
    secrets["refreshed access token"] = refreshed.json()["accessToken"]
    secrets["refreshed refresh token"] = refreshed.cookies["tb_refresh"]
    bearer = {
        "authorization": f"Bearer {secrets['refreshed access token']}",
        "x-tenant-id": tenant_id,
    }
    assert client.get("/api/auth/me", headers=bearer).status_code == 200

    created = client.post(
        "/api/api-keys",
        headers=bearer,
        json={"name": "logged flow", "permissions": ["VIEW_ACTIVITIES", "SUBMIT_ACTIVITY_RESULT"]},
    )
    assert created.status_code == 201, created.text
    secrets["api key"] = created.json()["plaintextKey"]
    key = {"x-api-key": secrets["api key"]}
    for _ in range(2):  # the second one from the configs fast path's caches, when still fresh
        assert (
            client.get("/api/integration/task-result-type-configs", headers=key).status_code == 200
        )

    tasks = client.get("/api/integration/activities/tasks", headers=key)
    assert tasks.status_code == 200, tasks.text
    task = tasks.json()["data"][0]
    config = client.post(
        "/api/dispatch-configs",
        headers=bearer,
        json={
            "channel": task["channel"],  # so the follow-up is pushed
            "provider": "WEBHOOK",
            # Nothing listens there: the dispatcher's failed sends are logged too.
            "endpoint_url": f"http://127.0.0.1:{free_port()}/taskbridge/tasks",
            "auth_header_name": "x-partner-token",
            "auth_header_value": AUTH_HEADER_VALUE,
        },
    )
    assert config.status_code == 201, config.text
    secrets["auth header value"] = AUTH_HEADER_VALUE
    secrets["signing secret"] = config.json()["signingSecret"]

    submission = {
        "activity_id": task["id"],
        "commerce_external_id": task["commerceExternalId"],
        "occurred_at": "2026-04-11T10:30:00.000Z",
        "status": "EFFECTIVE",
        "task_result": {"result": "RESCHEDULE", "future_scheduled_at": "2099-01-01T09:00:00.000Z"},
    }
    submitted = client.post("/api/integration/activity-results/tasks", headers=key, json=submission)
    assert submitted.status_code == 201, submitted.text

    changed = client.post(
        "/api/auth/change-password",
        headers=bearer,
        json={"current_password": admin["password"], "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    secrets["new password"] = NEW_PASSWORD

    page = client.get("/admin/login")
    signed_in = client.post(
        "/admin/login",
        data={"email": admin["email"], "password": NEW_PASSWORD, "csrf_token": csrf_of(page)},
    )
    assert signed_in.status_code == 303, signed_in.text
    secrets["session cookie"] = signed_in.cookies["tb_session"]
    assert (
        client.get(
            "/admin/tasks", headers={"cookie": f"tb_session={secrets['session cookie']}"}
        ).status_code
        == 200
    )

    refused = client.get(
        f"/api/integration/activities/tasks/{uuid.uuid4()}",
        headers={**key, "X-Request-ID": CLIENT_REQUEST_ID},
    )
    assert refused.status_code == 404
    return Flow(secrets, refused)


def test_a_full_flow_logs_json_lines_with_request_ids_and_no_secret(served: Served) -> None:
    answered: list[httpx.Response] = []
    with httpx.Client(
        base_url=served.server.url, timeout=30, event_hooks={"response": [answered.append]}
    ) as client:
        flow = run_full_flow(client, served.demo)
    stop([served.server.process])  # everything written and flushed

    assert flow.refused.headers["x-request-id"] == CLIENT_REQUEST_ID
    assert flow.refused.json()["requestId"] == CLIENT_REQUEST_ID
    lines = served.lines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"timestamp", "level", "event", "logger"} <= set(r) for r in records), lines
    loggers = {r["logger"] for r in records}
    assert {"uvicorn.error", "uvicorn.access", "alembic.runtime.migration"} <= loggers, loggers
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert all(r["event"] == "request" for r in access)
    ids = [r["request_id"] for r in access]
    assert len(set(ids)) == len(ids), "one id per request"
    assert {response.headers["x-request-id"] for response in answered} <= set(ids)
    of_the_refused = [r for r in records if r.get("request_id") == CLIENT_REQUEST_ID]
    assert [(r["method"], r["status"]) for r in of_the_refused if r in access] == [("GET", 404)]
    password_changed = [r for r in records if r["event"] == "password_changed"]
    assert len(password_changed) == 1
    assert password_changed[0]["request_id"]

    everything = "\n".join(lines)
    for name, secret in flow.secrets.items():
        assert len(secret) >= 8, name
        assert secret not in everything, f"the {name} is in the log"
