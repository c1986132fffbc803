"""How the event stream is configured and which headers travel with each event.

Plain values only: the runtime turns them into a nats-py StreamConfig. Changing one of these is
a change of the wire contract.
"""

from __future__ import annotations

STREAM_NAME = "EVENTS"
STREAM_SUBJECTS = ("events.>",)
DUPLICATE_WINDOW_SECONDS = 120.0  # Nats-Msg-Id dedupe horizon

# Headers set by greentune producers (besides the Nats-* ones).
HEADER_EVENT_TYPE = "Greentune-Event-Type"
HEADER_EVENT_VERSION = "Greentune-Event-Version"
HEADER_NOTIFICATION_ID = "Greentune-Notification-Id"  # position in the producer's outbox
HEADER_CORRELATION_ID = "Greentune-Correlation-Id"
CONTENT_TYPE = "application/json"
