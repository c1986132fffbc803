"""Publish events straight to JetStream, for facts with no aggregate behind them (inference
requests, energy samples) and for writers that guard an aggregate with JetStream alone.

A publish returns only after JetStream acknowledged it; a lost acknowledgement is retried with the
same Nats-Msg-Id, which JetStream deduplicates, so nothing is lost and nothing is doubled.
"""

from __future__ import annotations

import nats.errors
from nats.aio.client import Client
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError, ServiceUnavailableError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from contracts import Envelope
from contracts.stream import STREAM_NAME
from contracts.subjects import aggregate_filter
from services.runtime.errors import BusUnavailableError, RuntimeKernelError
from services.runtime.wire import WRONG_LAST_SEQUENCE_CODES, expect_last, to_message

# Worth retrying with the same Nats-Msg-Id: lost acks, reconnects, a stream electing a new leader.
_TRANSIENT = (
    TimeoutError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    NoStreamResponseError,
    ServiceUnavailableError,
)


class StaleWriteError(RuntimeKernelError):
    """The aggregate has events the writer has not seen; reload and decide again."""


class EventPublisher:
    def __init__(self, nc: Client, *, stream: str = STREAM_NAME, timeout: float = 5.0, give_up_after: float = 60.0):
        self.js = nc.jetstream(timeout=timeout)
        self.stream = stream
        self.give_up_after = give_up_after  # seconds of retrying before BusUnavailableError

    async def publish(self, envelope: Envelope, expected_last_sequence: int | None = None) -> int:
        """Append `envelope`; returns its stream sequence.

        With `expected_last_sequence`, the append succeeds only if the aggregate's last event in
        the stream (from any producer) is at that sequence (0: the aggregate has no events yet).
        """
        message = to_message(envelope)
        headers = message.headers
        subject_filter = aggregate_filter(envelope.aggregate_type, envelope.aggregate_id)
        if expected_last_sequence is not None:
            headers = expect_last(headers, expected_last_sequence, subject_filter)
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(_TRANSIENT),
                wait=wait_exponential(multiplier=0.05, max=2.0),
                stop=stop_after_delay(self.give_up_after),
                reraise=True,
            ):
                with attempt:
                    try:
                        ack = await self.js.publish(message.subject, message.payload, headers=dict(headers))
                    except ServiceUnavailableError:
                        raise
                    except APIError as exc:
                        if exc.err_code in WRONG_LAST_SEQUENCE_CODES:
                            return await self._ours_or_stale(envelope, subject_filter, exc)
                        raise BusUnavailableError(f"JetStream refused {envelope.subject}: {exc.description}") from exc
                    return int(ack.seq)
        except _TRANSIENT as exc:
            raise BusUnavailableError(f"JetStream did not acknowledge {envelope.subject}: {exc!r}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ours_or_stale(self, envelope: Envelope, subject_filter: str, exc: APIError) -> int:
        # The expected-sequence check runs before dedupe: a retry of an append whose ack was lost
        # fails it. If the aggregate's last event is this very event, the append had succeeded.
        last = await self.js.get_last_msg(self.stream, subject_filter)
        if (last.headers or {}).get("Nats-Msg-Id") == str(envelope.event_id):
            return last.seq or 0
        raise StaleWriteError(
            f"{envelope.aggregate_type} {envelope.aggregate_id} has newer events "
            f"(last at sequence {last.seq}): {exc.description}"
        )

    async def last_sequence(self, aggregate_type: str, aggregate_id: str) -> int:
        """Stream sequence of the aggregate's last event, 0 when it has none."""
        try:
            last = await self.js.get_last_msg(self.stream, aggregate_filter(aggregate_type, aggregate_id))
        except NotFoundError:
            return 0
        return last.seq or 0
