"""EmissionsMeasured on JetStream: publish through the kernel's EventPublisher (acknowledged,
deduplicated by Nats-Msg-Id) and read back a subject's last interval, so a restarted reporter
continues the sequence and a publish whose acknowledgement was lost is not sent twice.
"""

from __future__ import annotations

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from contracts import Envelope, decode_envelope
from contracts.stream import STREAM_NAME
from contracts.subjects import event_subject
from services.carbon.domain import PRODUCER
from services.runtime.errors import BusUnavailableError
from services.runtime.publisher import EventPublisher


class JetStreamEmissionsLog:
    def __init__(self, nc: Client, publisher: EventPublisher | None = None) -> None:
        self.js = nc.jetstream()
        self.publisher = publisher or EventPublisher(nc)

    async def publish(self, envelope: Envelope, expected_last_sequence: int | None = None) -> int:
        return await self.publisher.publish(envelope, expected_last_sequence)

    async def last_measured(self, aggregate_type: str, aggregate_id: str) -> Envelope | None:
        """The subject's last EmissionsMeasured in the stream, or None."""
        subject = event_subject(PRODUCER, aggregate_type, aggregate_id, "EmissionsMeasured")
        try:
            message = await self.js.get_last_msg(STREAM_NAME, subject)
        except NotFoundError:
            return None
        except TimeoutError as exc:
            raise BusUnavailableError(f"JetStream did not answer for the last message on {subject}") from exc
        assert message.data is not None
        return decode_envelope(message.data)
