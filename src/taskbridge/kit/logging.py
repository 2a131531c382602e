"""One log pipeline for every logger: structlog's and the standard library's.

structlog's loggers and every ``logging`` logger (uvicorn's, SQLAlchemy's, Alembic's, asyncio's,
httpx's) end in one handler on the root logger, whose :class:`structlog.stdlib.ProcessorFormatter`
gives every line the same shape and keys (``timestamp``, ``level``, ``logger``, ``event``, and
``request_id`` while a request is handled, see :mod:`taskbridge.kit.request_id`): JSON lines with
``TASKBRIDGE_LOG_JSON=true``, readable key=value lines otherwise. Nothing else may install a
formatter: ``serve`` gives uvicorn no ``log_config`` and the Alembic env calls no ``fileConfig``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LIBRARY_FLOORS: dict[str, int] = {
    # SQLAlchemy's INFO is its echo: every statement and its parameters (hashes, sealed secrets).
    "sqlalchemy": logging.WARNING,
    # One line per outbound request: the dispatcher logs each delivery's outcome itself.
    "httpx": logging.WARNING,
    # DEBUG here is a line per database operation, connection step or form-parser callback.
    "aiosqlite": logging.INFO,
    "httpcore": logging.INFO,
    "python_multipart": logging.INFO,
    "multipart": logging.INFO,
}
"""The least severe level these libraries log at, whatever level is configured."""

ACCESS_LOGGER = "uvicorn.access"
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
"""What uvicorn passes its access line as arguments: kept as fields, not only as text."""
TOKEN_IN_PATH = re.compile(r"(tb_[a-z]{2,3}_)[A-Za-z0-9_.~%-]+")
"""A token of ours (``tb_<kind>_…``: an invitation link's, or one pasted by mistake) in a logged
path or query string: its kind is kept, the rest is not written."""


class _PipelineHandler(logging.Handler):
    """Writes each line to the ``sys.stderr`` of the moment (a test may have swapped it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except Exception:  # logging must never break the caller: the standard library's way
            self.handleError(record)


def _access_fields(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """uvicorn's access line as ``event="request"`` with its fields (other records: untouched)."""
    arguments = event_dict.pop("positional_args", ())
    record = event_dict.get("_record")
    if (
        record is not None
        and record.name == ACCESS_LOGGER
        and isinstance(arguments, tuple)
        and len(arguments) == len(ACCESS_FIELDS)
    ):
        event_dict["event"] = "request"
        event_dict.update(zip(ACCESS_FIELDS, arguments, strict=True))
        event_dict["path"] = TOKEN_IN_PATH.sub(r"\1…", str(event_dict["path"]))
    return event_dict


def _shared_processors() -> list[Processor]:
    """What every line gets, whichever logger wrote it (run where the line is written, so the
    request's context variables are the ones merged)."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderers(as_json: bool) -> Sequence[Processor]:
    if as_json:
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return [
        structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    ]


def configure_logging(level: str = "INFO", *, as_json: bool = False) -> None:
    """Route every logger of the process through one formatter; safe to call again (the last
    call wins: ``serve`` configures, then each worker's app factory)."""
    threshold = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        # Not cached: a later configure (another app in the process, a test) reaches every
        # logger, including module-level ones already used. Logging is off the hot paths.
        cache_logger_on_first_use=False,
    )
    handler = _PipelineHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_shared_processors(), _access_fields],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_renderers(as_json),
            ],
            pass_foreign_args=True,
        )
    )
    root = logging.getLogger()
    # Other handlers stay (pytest's capture); a previous pipeline is replaced, not doubled.
    for previous in [h for h in root.handlers if isinstance(h, _PipelineHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(threshold)
    logging.captureWarnings(True)  # a library's warning is a line of the same shape, not raw text
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(threshold, floor))
