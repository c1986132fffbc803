"""Park an event a consumer cannot use on the dead-letter stream (DEADLETTER, created with EVENTS):
the message whole under `deadletter.<consumer>.<stream sequence>`, with the reason, its subject and
its sequence in headers, then acknowledge it. If parking fails the event is nak'ed and comes back:
an event is never dropped."""

from __future__ import annotations

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from contracts.stream import (
    HEADER_DEAD_LETTER_REASON,
    HEADER_ORIGINAL_SEQUENCE,
    HEADER_ORIGINAL_SUBJECT,
    dead_letter_subject,
)
from services.runtime.logging import get_logger

log = get_logger("dead_letters")


async def park(js: JetStreamContext, message: Msg, consumer: str, reason: str) -> None:
    sequence = message.metadata.sequence.stream
    headers = {
        HEADER_DEAD_LETTER_REASON: " ".join(reason.split())[:2000],  # one header line
        HEADER_ORIGINAL_SUBJECT: message.subject,
        HEADER_ORIGINAL_SEQUENCE: str(sequence),
    }
    try:
        await js.publish(dead_letter_subject(consumer, sequence), message.data, headers=headers)
    except Exception:
        await message.nak(delay=1.0)
        raise
    log.error("event parked on the dead-letter stream", consumer=consumer, sequence=sequence, subject=message.subject)
    await message.ack()
