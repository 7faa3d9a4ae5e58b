"""structlog for every process: JSON lines off a terminal, readable lines on one.

Ids of the workflow and task being worked on live in contextvars (``bind_task``), so
every line logged while handling a task carries them without passing a logger around.
"""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.contextvars import bind_contextvars, merge_contextvars, unbind_contextvars

_TASK_KEYS = ("workflow_id", "task_id", "attempt", "trace_id", "span_id")


def setup_logging(service: str, *, level: str = "INFO", stream=None) -> None:
    """Configure structlog once at process start; ``service`` names the process in every line."""
    stream = stream or sys.stderr
    renderer: structlog.typing.Processor
    renderer = structlog.dev.ConsoleRenderer(colors=True) if stream.isatty() else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _ServiceName(service),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )


class _ServiceName:
    def __init__(self, service: str) -> None:
        self.service = service

    def __call__(self, logger: object, method: str, event: dict) -> dict:
        event.setdefault("service", self.service)
        return event


def bind_task(**ids: object) -> None:
    """Bind workflow/task/trace ids for the current task's context."""
    bind_contextvars(**{key: value for key, value in ids.items() if value is not None})


def unbind_task() -> None:
    unbind_contextvars(*_TASK_KEYS)
