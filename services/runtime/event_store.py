"""The write side of a service: an eventsourcing Application on SQLite (default) or PostgreSQL.

Its notification log is the service's outbox; `OutboxRelay` publishes it to JetStream. A save
with a stale aggregate (another writer saved first) raises StaleAggregateError and stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlparse
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError as _NotFoundInStore
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from contracts import Envelope
from services.runtime.aggregate import EventSourcedAggregate, restore_envelope
from services.runtime.errors import RuntimeKernelError
from services.runtime.settings import KernelSettings

A = TypeVar("A", bound=EventSourcedAggregate)


class StaleAggregateError(RuntimeKernelError):
    """The aggregate changed since it was loaded; reload it and decide again."""


class AggregateNotFoundError(RuntimeKernelError):
    """No aggregate with that id."""


def store_env(settings: KernelSettings, producer: str) -> dict[str, str]:
    """eventsourcing persistence settings for `producer`'s store."""
    if settings.event_store == "postgres":
        if not settings.postgres_dsn:
            raise RuntimeKernelError("GREENTUNE_EVENT_STORE=postgres needs GREENTUNE_POSTGRES_DSN")
        dsn = urlparse(settings.postgres_dsn)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dsn.path.lstrip("/"),
            "POSTGRES_HOST": dsn.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(dsn.port or 5432),
            "POSTGRES_USER": dsn.username or "",
            "POSTGRES_PASSWORD": dsn.password or "",
        }
    path = Path(settings.data_dir) / "stores" / f"{producer}.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


class ServiceApplication(Application[UUID]):
    """One per writing service; `producer` names it on the wire."""

    producer: ClassVar[str] = "unset"

    def __init__(self, settings: KernelSettings, env: dict[str, str] | None = None) -> None:
        self.name = self.producer
        super().__init__(env={**store_env(settings, self.producer), **(env or {})})

    def save_aggregates(self, *aggregates: EventSourcedAggregate) -> None:
        try:
            self.save(*aggregates)
        except IntegrityError as exc:
            ids = ", ".join(str(a.id) for a in aggregates)
            raise StaleAggregateError(f"{ids} changed since it was loaded; reload and retry") from exc

    def load(self, aggregate_id: UUID, cls: type[A]) -> A:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except _NotFoundInStore:
            raise AggregateNotFoundError(f"no {cls.__name__} {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise AggregateNotFoundError(f"{aggregate_id} is a {type(aggregate).__name__}, not a {cls.__name__}")
        return aggregate

    def outbox_after(self, position: int, limit: int) -> Sequence[tuple[int, Envelope]]:
        """Stored envelopes after outbox `position`, oldest first: (position, envelope)."""
        notifications = self.recorder.select_notifications(start=position, limit=limit, inclusive_of_start=False)
        out: list[tuple[int, Envelope]] = []
        for n in notifications:
            domain_event: Any = self.mapper.to_domain_event(n)
            out.append((n.id, restore_envelope(domain_event.envelope, n.originator_version)))
        return out

    def outbox_head(self) -> int:
        return self.recorder.max_notification_id() or 0
