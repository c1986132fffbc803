"""Event-sourced aggregates whose events are the public contract events.

An aggregate records `DomainEvent`s from `contracts/`, each wrapped in its validated envelope, so an
invalid event is refused before it is stored and the outbox relay publishes stored envelopes as
they are. Subclasses implement `when(event)` to update their state; they never do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self
from uuid import UUID

from eventsourcing.domain import Aggregate

from contracts import Actor, DomainEvent, Envelope
from contracts.envelope import envelope_from_dict


@dataclass(frozen=True)
class Causation:
    """Who and what caused the events being recorded; copied into every envelope."""

    actor: Actor
    correlation_id: str | None = None
    causation_id: str | None = None

    @classmethod
    def system(cls, component: str, correlation_id: str | None = None, causation_id: str | None = None) -> Causation:
        return cls(Actor(kind="system", id=component), correlation_id, causation_id)

    def following(self, envelope: Envelope) -> Causation:
        """Causation for events caused by `envelope`: same correlation, caused by its event id."""
        return Causation(self.actor, envelope.correlation_id, str(envelope.event_id))


def _stored(envelope: Envelope) -> dict[str, Any]:
    # aggregate_version is the eventsourcing originator_version; it is added back when read.
    return envelope.model_dump(mode="json", exclude={"aggregate_version"})


def restore_envelope(stored: dict[str, Any], version: int) -> Envelope:
    return envelope_from_dict({**stored, "aggregate_version": version})


class EventSourcedAggregate(Aggregate):
    """Base aggregate. `producer` is the service that owns it (the subject's second token)."""

    # Not annotated on purpose: eventsourcing turns annotated aggregate attributes into __init__ fields.
    producer = "unset"

    class Started(Aggregate.Created):
        envelope: dict[str, Any]

    class Recorded(Aggregate.Event):
        envelope: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.when(restore_envelope(self.envelope, self.originator_version).event)

    def __init__(self, envelope: dict[str, Any]) -> None:
        self.when(restore_envelope(envelope, 1).event)

    @classmethod
    def start(cls, aggregate_id: UUID, event: DomainEvent, causation: Causation) -> Self:
        envelope = cls._envelope(aggregate_id, 1, event, causation)
        return cls._create(cls.Started, id=aggregate_id, envelope=_stored(envelope))

    def record(self, event: DomainEvent, causation: Causation) -> None:
        envelope = self._envelope(self.id, self.version + 1, event, causation)
        self.trigger_event(self.Recorded, envelope=_stored(envelope))

    def when(self, event: DomainEvent) -> None:
        """Apply `event` to this aggregate's state. Override; the default keeps no state."""

    @classmethod
    def _envelope(cls, aggregate_id: UUID, version: int, event: DomainEvent, causation: Causation) -> Envelope:
        return Envelope.new(
            event,
            producer=cls.producer,
            aggregate_id=str(aggregate_id),
            aggregate_version=version,
            actor=causation.actor,
            correlation_id=causation.correlation_id,
            causation_id=causation.causation_id,
        )
