"""The event log's guarantees against a real nats-server: stale writes refused, duplicates dropped."""

from __future__ import annotations

import threading
from uuid import uuid4

import pytest

from contracts import Actor, Envelope
from contracts.events.jobs import JobCancelRequested, TrainingProgressed
from services.runtime.event_store import StaleAggregateError
from services.runtime.outbox import OutboxRelay
from services.runtime.publisher import EventPublisher, StaleWriteError
from tests.fakes import CAUSE, LedgerJob, ledger_app, producer_log

CLI = Actor(kind="cli", id="tester")


def _cancel_request(job_id: str) -> Envelope:
    return Envelope.new(JobCancelRequested(reason="test"), producer="api", aggregate_id=job_id, actor=CLI)


async def test_stale_write_to_an_aggregate_is_rejected_and_never_published(nc, tmp_path):
    app = ledger_app(tmp_path)
    job_id = app.request()
    first, stale = app.load(job_id, LedgerJob), app.load(job_id, LedgerJob)
    first.record(TrainingProgressed(step=1, epoch=0.1, loss=2.0, learning_rate=1e-3), CAUSE)
    app.save_aggregates(first)
    stale.record(TrainingProgressed(step=1, epoch=0.1, loss=9.9, learning_rate=1e-3), CAUSE)

    with pytest.raises(StaleAggregateError, match="reload"):
        app.save_aggregates(stale)

    relay = OutboxRelay(app, nc)
    await relay.recover()
    assert await relay.pump_once() == 3
    published = [p for p, _ in await producer_log(nc.jetstream())]
    assert published == [1, 2, 3]
    assert app.load(job_id, LedgerJob).version == 3


async def test_stale_direct_append_is_rejected_by_jetstream(nc):
    publisher = EventPublisher(nc)
    job_id = str(uuid4())
    seen_by_both = await publisher.last_sequence("job", job_id)
    assert seen_by_both == 0

    seq = await publisher.publish(_cancel_request(job_id), expected_last_sequence=seen_by_both)

    with pytest.raises(StaleWriteError, match=f"last at sequence {seq}"):
        await publisher.publish(_cancel_request(job_id), expected_last_sequence=seen_by_both)
    assert await publisher.last_sequence("job", job_id) == seq


async def test_republished_event_is_deduplicated(nc):
    publisher = EventPublisher(nc)
    envelope = _cancel_request(str(uuid4()))

    first = await publisher.publish(envelope)
    again = await publisher.publish(envelope)

    assert again == first
    info = await nc.jetstream().stream_info("EVENTS")
    assert info.state.messages == 1


async def test_append_whose_ack_is_lost_is_stored_exactly_once(nats_server, nc):
    publisher = EventPublisher(nc, timeout=0.5)
    job_id = str(uuid4())
    envelope = _cancel_request(job_id)
    nats_server.pause()
    threading.Timer(1.5, nats_server.resume).start()  # the first tries time out: acks "lost"

    seq = await publisher.publish(envelope, expected_last_sequence=0)

    assert await publisher.last_sequence("job", job_id) == seq
    info = await nc.jetstream().stream_info("EVENTS")
    assert info.state.messages == 1
