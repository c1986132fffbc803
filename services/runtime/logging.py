"""Structured JSON logging: one logger per component, correlation ids carried by context variables.

log = get_logger("trainer.worker")
with correlation(job.correlation_id):
    log.info("job started", job_id=...)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

_configured = False


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr; safe to call more than once."""
    global _configured
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(component: str) -> Any:
    if not _configured:
        configure_logging()
    return structlog.get_logger().bind(component=component)


@contextmanager
def correlation(correlation_id: str, **extra: Any) -> Iterator[None]:
    """Every log line inside the block carries `correlation_id` (and `extra`)."""
    with structlog.contextvars.bound_contextvars(correlation_id=correlation_id, **extra):
        yield
