"""structlog set-up: key=value lines on a terminal, JSON when asked."""

from __future__ import annotations

import logging

import structlog


def configure_logging(level: str = "INFO", *, as_json: bool = False) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # Not cached: a later configure (another app in the process, a test) reaches every
        # logger, including module-level ones already used. Logging is off the hot paths.
        cache_logger_on_first_use=False,
    )
