"""One log pipeline: structlog's lines and the standard library's (uvicorn, SQLAlchemy, warnings)
leave in the same shape, with the request id bound at the time."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from taskbridge.kit.logging import configure_logging

ACCESS_FORMAT = '%s - "%s %s HTTP/%s" %d'
"""uvicorn's access line, as uvicorn logs it."""


@pytest.fixture(autouse=True)
def default_pipeline() -> Iterator[None]:
    yield
    configure_logging()


def write_lines() -> None:
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        structlog.get_logger("taskbridge.somewhere").info("thing_done", count=2)
        logging.getLogger("alembic.runtime.migration").info("Running upgrade %s", "abc")
        logging.getLogger("uvicorn.access").info(
            ACCESS_FORMAT, "127.0.0.1:5000", "GET", "/api/x?y=1", "1.1", 200
        )
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)


def json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_every_logger_writes_the_same_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", as_json=True)
    write_lines()
    lines = json_lines(capsys)
    assert [(line["logger"], line["event"], line["level"]) for line in lines] == [
        ("taskbridge.somewhere", "thing_done", "info"),
        ("alembic.runtime.migration", "Running upgrade abc", "info"),
        ("uvicorn.access", "request", "info"),
        ("uvicorn.error", "Started server process [42]", "info"),
    ]
    assert all("timestamp" in line for line in lines)
    assert [line.get("request_id") for line in lines] == ["req-1", "req-1", "req-1", None]
    assert lines[0]["count"] == 2
    access = lines[2]
    assert {k: access[k] for k in ("client", "method", "path", "http_version", "status")} == {
        "client": "127.0.0.1:5000",
        "method": "GET",
        "path": "/api/x?y=1",
        "http_version": "1.1",
        "status": 200,
    }


def test_a_token_in_a_logged_path_is_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    """An invitation link's path, and the sign-in page's ``next`` holding it, keep only the kind."""
    configure_logging("INFO", as_json=True)
    token = "tb_inv_eyJpbnYiOiIxIn0.c2lnbmF0dXJl-x_y"
    access = logging.getLogger("uvicorn.access")
    for path in (f"/admin/invitations/{token}/accept", f"/admin/login?next=%2Fadmin%2F{token}"):
        access.info(ACCESS_FORMAT, "127.0.0.1:5000", "GET", path, "1.1", 200)
    output = capsys.readouterr().err
    assert token[len("tb_inv_") :] not in output
    assert [json.loads(line)["path"] for line in output.splitlines()] == [
        "/admin/invitations/tb_inv_…/accept",
        "/admin/login?next=%2Fadmin%2Ftb_inv_…",
    ]


def test_readable_lines_carry_the_same_keys(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", as_json=False)
    write_lines()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4
    assert "thing_done" in lines[0]
    assert all("request_id=req-1" in line for line in lines[:3])
    assert "status=200" in lines[2]
    assert "request_id" not in lines[3]


def test_configuring_again_replaces_the_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", as_json=False)
    configure_logging("INFO", as_json=True)
    logging.getLogger("asyncio").warning("once")
    [line] = json_lines(capsys)
    assert line["event"] == "once"


def test_the_level_applies_and_sql_is_never_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    """At DEBUG, SQLAlchemy's INFO (every statement with its parameters) still stays out."""
    configure_logging("DEBUG", as_json=True)
    logging.getLogger("sqlalchemy.engine.Engine").info("SELECT %s", "secret-parameter")
    logging.getLogger("taskbridge.x").debug("shown")
    configure_logging("WARNING", as_json=True)
    structlog.get_logger("taskbridge.x").info("hidden")
    logging.getLogger("aiosqlite").info("hidden too")
    assert [line["event"] for line in json_lines(capsys)] == ["shown"]


def test_an_exception_stays_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", as_json=True)
    try:
        raise ValueError("boom")
    except ValueError:
        structlog.get_logger("taskbridge.x").exception("failed")
    [line] = json_lines(capsys)
    assert line["event"] == "failed"
    assert "ValueError: boom" in line["exception"]
