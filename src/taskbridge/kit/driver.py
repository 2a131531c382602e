"""Core statements run on the driver's own connection, for the hot paths that skip the session.

The busiest reads spend more CPU in the layers around a statement (session, unit of work,
execution context, result processing) than in the driver that sends it. A statement built with
SQLAlchemy Core is still the one source of its SQL: :class:`DriverStatement` compiles it once for
the engine's dialect, and each request only binds its values in the compiled order. The
connection comes from the engine's own pool (:func:`driver_connection`), so pool size, pool
metrics and the outage handling of every other request apply to it unchanged.

What the driver returns is what it decodes, not what SQLAlchemy's result processors would make
of it: use this only where the two are the same (on PostgreSQL with asyncpg: UUIDs, aware UTC
datetimes, text, integers, and JSON decoded by the codec SQLAlchemy installs on every pooled
connection). The values bound must be ones the driver takes as they are, for the same reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

DRIVER_DIALECTS = frozenset({"postgresql"})
"""Dialects whose driver connection the fast paths use (asyncpg); elsewhere they stand aside."""


class DriverStatement:
    """A Core statement compiled once, bound per call to the driver's SQL and positional values.

    Values go through the bind processors of their columns' types, as in SQLAlchemy's own
    execution (a JSON document is serialised, a datetime normalised by ``UtcDateTime``);
    expanding parameters (``IN`` lists) are rendered for the values of each call.
    """

    __slots__ = ("_compiled", "_plain", "_processors")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self._compiled = compiled
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self._processors[name] = process
        positions = compiled.positiontup or []
        self._plain = None if compiled.post_compile_params else (compiled.string, positions)

    def bind(self, params: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        names: Sequence[str]
        values: Mapping[str, Any]
        if self._plain is not None:
            sql, names = self._plain
            values = self._compiled.construct_params(params)
            processors = self._processors
        else:
            state = self._compiled.construct_expanded_state(params)
            sql, names, values = state.statement, state.positiontup or [], state.parameters
            processors = {**self._processors, **state.processors}
        return sql, tuple(
            values[name] if (process := processors.get(name)) is None else process(values[name])
            for name in names
        )


STATEMENTS = 4096
"""Compiled statements kept per process (page shapes, submission shapes)."""


@lru_cache(maxsize=STATEMENTS)
def compiled_for(statement: ClauseElement, dialect: Dialect) -> DriverStatement:
    """``statement`` compiled for ``dialect``, once (statements are built once and kept)."""
    return DriverStatement(statement, dialect)


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """The driver connection (an ``asyncpg.Connection``) of a connection checked out of the
    engine's pool, returned to it afterwards.

    It is discarded rather than returned when the block raises: the connection may be broken, or
    mid-statement after a cancellation, and a pool holds only connections in a known state.
    Don't leave a transaction open on it.
    """
    pooled = await engine.raw_connection()
    try:
        yield pooled.driver_connection
    except BaseException:
        await greenlet_spawn(pooled.invalidate)
        raise
    finally:
        await greenlet_spawn(pooled.close)
