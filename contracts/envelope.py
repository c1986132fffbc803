"""The envelope every event travels in, and its (de)serialisation with upcasting on the way in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, Field, ValidationError, field_validator

from contracts.base import Actor, DomainEvent, ValueObject
from contracts.catalog import AnyEvent
from contracts.errors import ContractError
from contracts.subjects import TOKEN, event_subject
from contracts.upcasters import upcast

_TOKEN_PATTERN = TOKEN.pattern


class Envelope(ValueObject):
    """Metadata around one event: identity, time, origin, causality and the actor behind it."""

    event_id: UUID = Field(description="Unique id of this event; also its Nats-Msg-Id (dedupe key).")
    occurred_at: AwareDatetime = Field(description="When the event happened, UTC.")
    producer: str = Field(pattern=_TOKEN_PATTERN, description="Service that wrote the event: api, trainer...")
    aggregate_type: str = Field(pattern=_TOKEN_PATTERN, description="Kind of thing it is about: job, dataset...")
    aggregate_id: str = Field(pattern=_TOKEN_PATTERN, description="Id of the thing it is about.")
    aggregate_version: int | None = Field(
        None, ge=1, description="Version of the producer's aggregate after this event; None for direct facts."
    )
    correlation_id: str = Field(min_length=1, description="Shared by every event of one user request or job.")
    causation_id: str | None = Field(None, description="event_id of the event or command that caused this one.")
    actor: Actor = Field(description="Who caused it.")
    event: AnyEvent

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @property
    def subject(self) -> str:
        return event_subject(self.producer, self.aggregate_type, self.aggregate_id, self.event.type_name())

    @classmethod
    def new(
        cls,
        event: DomainEvent,
        *,
        producer: str,
        aggregate_id: str,
        actor: Actor,
        aggregate_version: int | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        aggregate_type: str | None = None,
    ) -> Envelope:
        event_id = uuid4()
        return cls(
            event_id=event_id,
            occurred_at=datetime.now(UTC),
            producer=producer,
            aggregate_type=aggregate_type or event.aggregate_type,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            correlation_id=correlation_id or str(event_id),
            causation_id=causation_id,
            actor=actor,
            event=event,
        )


def encode_envelope(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode()


def envelope_from_dict(data: dict[str, Any]) -> Envelope:
    """Validate a decoded envelope, upcasting its event to the current version first."""
    event = data.get("event")
    if not isinstance(event, dict):
        raise ContractError("envelope has no `event` object")
    try:
        return Envelope.model_validate({**data, "event": upcast(event)})
    except ValidationError as exc:
        raise ContractError(f"{event.get('type', '?')} event does not match its contract: {exc}") from exc


class ForgedEnvelopeError(ContractError):
    """An envelope stored under another subject than its own: it claims a producer, aggregate or
    type its subject does not grant it (a client that may publish on one subject wrote another's event)."""


def decode_envelope(raw: bytes | str, subject: str | None = None) -> Envelope:
    """The envelope in `raw`; with `subject` (where it was read), also refused unless it is that
    envelope's own subject."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ContractError(f"event payload is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ContractError("event payload must be a JSON object")
    envelope = envelope_from_dict(data)
    if subject is not None and envelope.subject != subject:
        raise ForgedEnvelopeError(
            f"an envelope on {subject} claims to be {envelope.subject} (producer {envelope.producer!r}): refused"
        )
    return envelope
