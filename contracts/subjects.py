"""Subject names on the wire: `events.<producer>.<aggregate_type>.<aggregate_id>.<EventType>`.

Having the producer as the second token lets a writer read back its own last event with one
wildcard lookup (`events.<producer>.>`), which is how the outbox relay recovers its position.
RPC (`rpc.>`) stays outside the event stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.errors import ContractError

EVENTS_PREFIX = "events"
TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class SubjectParts:
    producer: str
    aggregate_type: str
    aggregate_id: str
    event_type: str


def _check_token(name: str, value: str) -> str:
    if not TOKEN.match(value):
        raise ContractError(f"{name} {value!r} cannot be a subject token: use letters, digits, '_' or '-'")
    return value


def event_subject(producer: str, aggregate_type: str, aggregate_id: str, event_type: str) -> str:
    parts = (
        ("producer", producer),
        ("aggregate type", aggregate_type),
        ("aggregate id", aggregate_id),
        ("event type", event_type),
    )
    return ".".join([EVENTS_PREFIX, *(_check_token(n, v) for n, v in parts)])


def parse_subject(subject: str) -> SubjectParts:
    tokens = subject.split(".")
    if len(tokens) != 5 or tokens[0] != EVENTS_PREFIX:
        raise ContractError(f"{subject!r} is not an event subject (events.<producer>.<type>.<id>.<Event>)")
    return SubjectParts(*tokens[1:])


def producer_filter(producer: str) -> str:
    """Every event one producer wrote."""
    return f"{EVENTS_PREFIX}.{_check_token('producer', producer)}.>"


def aggregate_filter(aggregate_type: str, aggregate_id: str, producer: str = "*") -> str:
    """Every event about one aggregate, from one producer or (default) all of them."""
    return f"{EVENTS_PREFIX}.{producer}.{aggregate_type}.{_check_token('aggregate id', aggregate_id)}.*"


def type_filter(event_type: str, producer: str = "*", aggregate_type: str = "*") -> str:
    """Every event of one type."""
    return f"{EVENTS_PREFIX}.{producer}.{aggregate_type}.*.{_check_token('event type', event_type)}"
