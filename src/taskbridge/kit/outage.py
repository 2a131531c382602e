"""When the database cannot answer: which errors say so, and one log line per outage.

A database that is down, restarting, or too busy to take a write is not a bug in the request:
the client gets a 503 with ``Retry-After`` and tries again. Which errors mean that is decided
here and nowhere else, from the drivers' own signals: SQLAlchemy's ``connection_invalidated``,
PostgreSQL's SQLSTATE, SQLite's result code, a socket error raised inside the driver. Anything
else (a constraint, a syntax error, a missing table) is a bug and stays one.

While the database is away every request fails the same way, and logging each would bury the
log (2,635 tracebacks in 12 s). :class:`Outage` logs the first refusal of an episode; the next
transaction that commits on that database ends it, logging how long it lasted and how many
requests were refused meanwhile.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterator
from enum import StrEnum

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

log = structlog.get_logger(__name__)


class Trouble(StrEnum):
    UNREACHABLE = "unreachable"
    """Down, restarting, or the connection was lost: retried after a few seconds."""
    BUSY = "busy"
    """Up but refusing this work now (SQLite's write lock, no connection slot left)."""


RETRY_AFTER_SECONDS = {Trouble.UNREACHABLE: 5, Trouble.BUSY: 1}

DRIVER_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
"""Every type a database trouble arrives as: SQLAlchemy wraps what happens on a connection, but
a failed connect raises the driver's own error (``ConnectionRefusedError``, ``TimeoutError``,
``CannotConnectNowError``)."""

_UNREACHABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
"""Admin shutdown, crash shutdown, cannot connect now (starting up or shutting down); the whole
``08`` class (connection exception) is unreachable too."""
_BUSY_SQLSTATES = frozenset({"53300"})
"""Too many connections."""
_SQLITE_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_DRIVER_MODULES = ("asyncpg.", "sqlalchemy.", "aiosqlite.")
_CLOSED_CONNECTION = ("connection is closed", "connection was closed")
"""asyncpg's words for using a connection that is gone (its other interface errors are bugs)."""


def database_trouble(exc: BaseException) -> Trouble | None:
    """Why the database could not do this work now, or ``None`` when ``exc`` is a real error."""
    for error in _chain(exc):
        trouble = _trouble_of(error)
        if trouble is not None:
            return trouble
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what it wraps: SQLAlchemy's ``orig``, then explicit causes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def _trouble_of(error: BaseException) -> Trouble | None:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return Trouble.UNREACHABLE
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        if sqlstate.startswith("08") or sqlstate in _UNREACHABLE_SQLSTATES:
            return Trouble.UNREACHABLE
        if sqlstate in _BUSY_SQLSTATES:
            return Trouble.BUSY
    if isinstance(error, sqlite3.Error) and _sqlite_primary_code(error) in _SQLITE_BUSY_CODES:
        return Trouble.BUSY
    if isinstance(error, asyncpg.InterfaceError) and any(
        words in str(error) for words in _CLOSED_CONNECTION
    ):
        return Trouble.UNREACHABLE
    if isinstance(error, OSError) and _raised_in_driver(error):
        return Trouble.UNREACHABLE
    return None


def _sqlite_primary_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _raised_in_driver(error: BaseException) -> bool:
    """A socket error (refused, reset, timed out) from connecting or talking to the database,
    not from a file or an outbound HTTP call that happens to be an ``OSError`` too."""
    return any(
        str(frame.f_globals.get("__name__", "")).startswith(_DRIVER_MODULES)
        for frame, _line in traceback.walk_tb(error.__traceback__)
    )


def describe(exc: BaseException) -> str:
    """The innermost error's type and first line: enough to tell an outage from a lock, and
    never the SQL that SQLAlchemy's own message carries."""
    *_, innermost = _chain(exc)
    message = str(innermost).strip().splitlines()
    return f"{type(innermost).__name__}: {message[0][:200] if message else ''}".rstrip(": ")


class Outage:
    """One database's episodes of unavailability, as one process sees them.

    Safe to call from any thread or task: the episode starts and ends under a lock, and only
    the caller that starts or ends it logs.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None
        self._refused = 0

    @property
    def is_ongoing(self) -> bool:
        return self._since is not None

    def refused(self, trouble: Trouble, exc: BaseException, **context: str) -> None:
        """A request refused for ``trouble``: counted; logged if it starts an episode."""
        self._notice(trouble, exc, refused=1, context=context)

    def noticed(self, trouble: Trouble, exc: BaseException, **context: str) -> None:
        """Background work (the dispatcher) found the database away: logged if it starts an
        episode, but not a refused request."""
        self._notice(trouble, exc, refused=0, context=context)

    def _notice(
        self, trouble: Trouble, exc: BaseException, *, refused: int, context: dict[str, str]
    ) -> None:
        with self._lock:
            self._refused += refused
            if self._since is not None:
                return
            self._since = self._clock()
        log.warning("database_unavailable", reason=str(trouble), error=describe(exc), **context)

    def answered(self) -> None:
        """The database committed a transaction: the episode, if any, is over."""
        if self._since is None:
            return
        with self._lock:
            if self._since is None:
                return
            seconds = self._clock() - self._since
            refused = self._refused
            self._since = None
            self._refused = 0
        log.info("database_available_again", seconds=round(seconds, 3), refused=refused)


_outages: weakref.WeakKeyDictionary[Engine, Outage] = weakref.WeakKeyDictionary()
_outages_lock = threading.Lock()


def outage_of(factory: async_sessionmaker[AsyncSession]) -> Outage:
    """The episodes of the database behind ``factory`` (shared by every factory on its engine)."""
    return outage_on(factory.kw["bind"].sync_engine)


def outage_on(engine: Engine) -> Outage:
    """The episodes of ``engine``'s database."""
    with _outages_lock:
        outage = _outages.get(engine)
        if outage is None:
            outage = _outages[engine] = Outage()
        return outage


_WATCHED = "outage_watched"
"""``session.info`` key: the outage this transaction's commit ends."""


def answered_on(engine: Engine) -> None:
    """Work outside a session (a fast path) succeeded on ``engine``: its outage, if any, is over."""
    outage = _outages.get(engine)
    if outage is not None:
        outage.answered()


@event.listens_for(Session, "after_begin")
def _watch_during_outage(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    """A transaction began on a connection (for SQLite, the write lock was taken): if its
    database is in an outage, its commit will end it. Costs one lookup otherwise."""
    outage = _outages.get(connection.engine)
    if outage is not None and outage.is_ongoing:
        session.info[_WATCHED] = outage


@event.listens_for(Session, "after_commit")
def _end_outage(session: Session) -> None:
    outage: Outage | None = session.info.pop(_WATCHED, None)
    if outage is not None:
        outage.answered()


@event.listens_for(Session, "after_rollback")
def _forget_outage(session: Session) -> None:
    session.info.pop(_WATCHED, None)
