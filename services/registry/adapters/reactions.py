"""A durable, tracked reaction to events: the ProjectionRunner feeds it like a read model.

Instead of writing view rows, `project` hands each event to a handler (which saves aggregates in
the registry's own store); the tracking position commits after the handler returns. A crash in
between redelivers the event, and the handlers are idempotent (a job already registered, a version
already verified is skipped), so each event takes effect once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from eventsourcing.sqlite import SQLiteCursor

from contracts import Envelope
from services.runtime.views import SQLiteView


class Reactions(SQLiteView):
    """Open with `Reactions.for_handler(name, path, handler)`."""

    tables: ClassVar[dict[str, str]] = {}
    handler: Callable[[Envelope], None]

    @classmethod
    def for_handler(cls, name: str, path: Path, handler: Callable[[Envelope], None]) -> Reactions:
        named: type[Reactions] = type(f"Reactions_{name}", (cls,), {"name": name})
        reactions = named.open(path)
        reactions.handler = handler
        return reactions

    def project(self, cursor: SQLiteCursor, envelope: Envelope, position: int) -> None:
        self.handler(envelope)
