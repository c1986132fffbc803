"""InferenceCompleted events under load and outages: all published, once each, a bounded number at a time."""

from __future__ import annotations

import asyncio

from nats.js.api import DeliverPolicy

from contracts import Actor, Envelope, decode_envelope
from contracts.events.inference import InferenceCompleted
from services.inference.adapters.event_queue import QueuedEventSink
from services.runtime.publisher import EventPublisher

ENGINE = "queue-test"


def completed(i: int) -> Envelope:
    event = InferenceCompleted(
        request_id=f"r{i}",
        model="tiny",
        mode="generate",
        prompt_tokens=12,
        completion_tokens=3,
        latency_ms=5.0,
        finish_reason="stop",
    )
    return Envelope.new(event, producer="inference", aggregate_id=ENGINE, actor=Actor(kind="system", id="tests"))


class CountingPublisher:
    """The real EventPublisher, counting how many publishes are in flight at once."""

    def __init__(self, publisher: EventPublisher) -> None:
        self.publisher = publisher
        self.in_flight = 0
        self.most_in_flight = 0
        self.failures = 0

    async def publish(self, envelope: Envelope, expected_last_sequence: int | None = None) -> int:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self.publisher.publish(envelope, expected_last_sequence)
        except Exception:
            self.failures += 1
            raise
        finally:
            self.in_flight -= 1


async def stored_request_ids(nc) -> list[str]:  # type: ignore[no-untyped-def]
    sub = await nc.jetstream().subscribe(
        f"events.inference.engine.{ENGINE}.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    ids = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except TimeoutError:
                return ids
            ids.append(decode_envelope(msg.data).event.request_id)
    finally:
        await sub.unsubscribe()


async def test_a_burst_during_a_server_stall_is_published_completely_once_and_never_all_at_once(nc, nats_server):
    publisher = CountingPublisher(EventPublisher(nc, timeout=0.5, give_up_after=1.0))
    sink = QueuedEventSink(publisher, capacity=100, publishers=8)
    sink.start()
    for i in range(150):
        await sink.emit(completed(i))
        if i == 50:
            nats_server.pause()  # SIGSTOP: publishes time out, acks are lost, the queue fills up
            asyncio.get_running_loop().call_later(3.0, nats_server.resume)
    await sink.close(timeout=60.0)

    ids = await stored_request_ids(nc)
    assert sorted(ids) == sorted(f"r{i}" for i in range(150))  # every event, none twice
    assert publisher.failures > 0  # the stall did make publishes fail
    assert publisher.most_in_flight <= 8
