"""How the event stream is configured and which headers travel with each event.

Plain values only: the runtime turns them into a nats-py StreamConfig. Changing one of these is
a change of the wire contract.
"""

from __future__ import annotations

STREAM_NAME = "EVENTS"
STREAM_SUBJECTS = ("events.>",)
DUPLICATE_WINDOW_SECONDS = 120.0  # Nats-Msg-Id dedupe horizon

# Events a consumer could not use (a view failing on one N times, a forged or unreadable envelope)
# are parked here, whole, with the reason: `deadletter.<consumer>.<stream sequence>`.
DEAD_LETTER_STREAM = "DEADLETTER"
DEAD_LETTER_SUBJECTS = ("deadletter.>",)

# Headers set by greentune producers (besides the Nats-* ones).
HEADER_EVENT_TYPE = "Greentune-Event-Type"
HEADER_EVENT_VERSION = "Greentune-Event-Version"
HEADER_NOTIFICATION_ID = "Greentune-Notification-Id"  # position in the producer's outbox
HEADER_CORRELATION_ID = "Greentune-Correlation-Id"
HEADER_DEAD_LETTER_REASON = "Greentune-Dead-Letter-Reason"  # on a parked event: why
HEADER_ORIGINAL_SUBJECT = "Greentune-Original-Subject"
HEADER_ORIGINAL_SEQUENCE = "Greentune-Original-Sequence"  # its sequence in EVENTS
CONTENT_TYPE = "application/json"


def dead_letter_subject(consumer: str, sequence: int) -> str:
    return f"deadletter.{consumer}.{sequence}"
