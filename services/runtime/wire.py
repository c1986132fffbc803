"""How an envelope becomes a JetStream message: subject, payload and headers, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from contracts import Envelope, encode_envelope
from contracts.stream import (
    CONTENT_TYPE,
    HEADER_CORRELATION_ID,
    HEADER_EVENT_TYPE,
    HEADER_EVENT_VERSION,
    HEADER_NOTIFICATION_ID,
    STREAM_NAME,
)

# JetStream's error codes for a failed expected-last-sequence check (nats.java treats both so).
WRONG_LAST_SEQUENCE_CODES = frozenset({10071, 10164})


@dataclass(frozen=True)
class OutgoingMessage:
    subject: str
    payload: bytes
    headers: dict[str, str]


def to_message(envelope: Envelope, notification_id: int | None = None) -> OutgoingMessage:
    headers = {
        "Nats-Msg-Id": str(envelope.event_id),  # dedupe key within the stream's duplicate window
        "Nats-Expected-Stream": STREAM_NAME,
        HEADER_EVENT_TYPE: envelope.event.type_name(),
        HEADER_EVENT_VERSION: str(envelope.event.schema_version()),
        HEADER_CORRELATION_ID: envelope.correlation_id,
        "Content-Type": CONTENT_TYPE,
    }
    if notification_id is not None:
        headers[HEADER_NOTIFICATION_ID] = str(notification_id)
    return OutgoingMessage(envelope.subject, encode_envelope(envelope), headers)


def expect_last(headers: dict[str, str], sequence: int, subject_filter: str) -> dict[str, str]:
    """Headers that make JetStream refuse the append unless `subject_filter`'s last message is `sequence`."""
    return {
        **headers,
        "Nats-Expected-Last-Subject-Sequence": str(sequence),
        "Nats-Expected-Last-Subject-Sequence-Subject": subject_filter,
    }
