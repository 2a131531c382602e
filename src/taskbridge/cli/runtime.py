"""What every command shares: settings, one unit of work per command, output, and failures.

A command either succeeds (its output on stdout; with ``--json`` exactly one JSON object) or exits
with status 1 and a one-line reason on stderr, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit.actors import command_line
from taskbridge.audit.service import bind_actor
from taskbridge.config import EnvFileMissing, Settings, describe_invalid_settings
from taskbridge.db import create_engine, create_session_factory, session_scope
from taskbridge.errors import AppError, validation_failure

T = TypeVar("T")

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout instead of text.")
]
TenantOption = Annotated[
    str, typer.Option("--tenant", help="The tenant's slug.", show_default=False)
]

CLI_ACTOR = "cli"
"""How changes made from the command line are named in activity events."""


def load_settings() -> Settings:
    """The settings of this invocation, read from ``TASKBRIDGE_*`` (and ``TASKBRIDGE_ENV_FILE``'s
    file) now, not a cached copy; every invalid one (a short secret key, say) is reported as one
    line naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first, *more = describe_invalid_settings(exc).splitlines()
        fail(first, *more)
    except EnvFileMissing as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot read the settings: {type(exc).__name__}: {exc}")


def fail(reason: str, *more_lines: str) -> NoReturn:
    """Exit 1 with ``reason`` on stderr (plus any detail lines after it)."""
    typer.echo(reason.splitlines()[0] if reason else "failed", err=True)
    for line in more_lines:
        typer.echo(line, err=True)
    raise typer.Exit(1)


def _database_reason(exc: SQLAlchemyError) -> str:
    """The driver's own sentence, without SQL or parameters."""
    cause = getattr(exc, "orig", None) or exc.__cause__ or exc
    text = str(cause).strip().splitlines()
    detail = text[0] if text else type(cause).__name__
    return f"database error: {detail} (is the database reachable and `taskbridge db upgrade` run?)"


@contextmanager
def reported_failures() -> Iterator[None]:
    """Turn the errors a user can act on into a one-line reason and exit status 1."""
    try:
        yield
    except AppError as exc:
        fail(exc.message)
    except ValidationError as exc:
        fail(validation_failure([dict(e) for e in exc.errors()]).message)
    except SQLAlchemyError as exc:
        fail(_database_reason(exc))
    except ConnectionError as exc:
        fail(f"cannot connect to the database: {exc}")
    except OSError as exc:
        fail(f"{type(exc).__name__}: {exc}")


Work = Callable[[AsyncSession], Awaitable[T]]


def run_raising(work: Work[T], settings: Settings | None = None) -> T:
    """Run ``work`` in one unit of work: committed when it returns, rolled back when it raises."""
    settings = settings or load_settings()

    async def in_session() -> T:
        engine = create_engine(settings)
        try:
            async with session_scope(create_session_factory(engine)) as session:
                bind_actor(session, command_line())  # the audit log's actor for its changes
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(in_session())


def run(work: Work[T], settings: Settings | None = None) -> T:
    """:func:`run_raising`, with failures reported as one line and exit status 1."""
    with reported_failures():
        return run_raising(work, settings)


def dump(model: BaseModel) -> dict[str, Any]:
    """A response model as its JSON object (camelCase, contract timestamps)."""
    return model.model_dump(mode="json", by_alias=True)


def print_json(payload: Mapping[str, Any]) -> None:
    """The one JSON object a ``--json`` command prints."""
    typer.echo(json.dumps(payload, ensure_ascii=False))


def say(line: str = "") -> None:
    typer.echo(line)
