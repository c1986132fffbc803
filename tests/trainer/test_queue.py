"""The job queue on JetStream: fed from JobQueued events, drained highest band first, and a job whose
worker stops sending heartbeats is handed out again; a forged JobQueued is parked, not queued."""

from __future__ import annotations

import asyncio
import uuid

from contracts import Envelope, encode_envelope
from contracts.events.jobs import JobQueued
from contracts.stream import DEAD_LETTER_STREAM, HEADER_DEAD_LETTER_REASON, HEADER_ORIGINAL_SUBJECT
from services.trainer.adapters.queue import DISPATCH_DURABLE, QUEUE_STREAM, JobQueue
from services.trainer.commands import CreateJob
from services.trainer.domain import priority_band
from tests.fakes import wait_until
from tests.trainer.conftest import ACK_WAIT, ACTOR, DEMO_CONFIG


async def queue_jobs(trainer, tiny_model_dir, priorities):  # type: ignore[no-untyped-def]
    dataset_id = await trainer.register_demo(tiny_model_dir)
    job_priority = {}
    for priority in priorities:
        config = {**DEMO_CONFIG, "dataset_id": dataset_id, "priority": priority}
        job_priority[(await trainer.result(CreateJob(actor=ACTOR, config=config)))["job_id"]] = priority
    js = trainer.nc.jetstream()

    async def all_dispatched() -> bool:
        return (await js.stream_info(QUEUE_STREAM)).state.messages == len(priorities)

    await wait_until(all_dispatched)
    queue = JobQueue(trainer.nc, fetch_timeout=0.5)
    await queue.bind()
    return queue, job_priority


async def test_a_free_worker_takes_higher_priority_jobs_first_and_equal_ones_in_order(trainer, tiny_model_dir):
    queue, job_priority = await queue_jobs(trainer, tiny_model_dir, [-5, 0, 7, 0, 3])

    taken = [await queue.take() for _ in range(5)]

    assert [job_priority[str(t.job_id)] for t in taken] == [7, 3, 0, 0, -5]  # type: ignore[union-attr]
    assert [t.band for t in taken] == [priority_band(p) for p in (7, 3, 0, 0, -5)]  # type: ignore[union-attr]
    normal = [str(t.job_id) for t in taken if t.band == "normal"]  # type: ignore[union-attr]
    assert normal == [j for j, p in job_priority.items() if p == 0], "first in, first out within a band"
    assert await queue.take() is None


async def test_a_job_without_heartbeats_is_handed_out_again_and_one_with_heartbeats_is_not(trainer, tiny_model_dir):
    queue, _ = await queue_jobs(trainer, tiny_model_dir, [0, 0])
    kept, dropped = await queue.take(), await queue.take()
    assert kept is not None and dropped is not None and kept.deliveries == dropped.deliveries == 1

    for _ in range(int(ACK_WAIT * 2 / 0.5)):  # heartbeats for twice the ack wait; `dropped` gets none
        await kept.heartbeat()
        await asyncio.sleep(0.5)
    again = await queue.take()

    assert again is not None and (again.job_id, again.deliveries) == (dropped.job_id, 2)
    await kept.done()
    await again.done()
    assert await queue.take() is None


async def test_a_forged_job_queued_is_parked_on_the_dead_letter_stream_and_queues_nothing(trainer, tiny_model_dir):
    await queue_jobs(trainer, tiny_model_dir, [0])  # the dispatcher runs and has queued one job
    forged = Envelope.new(JobQueued(priority=9), producer="inference", aggregate_id=str(uuid.uuid4()), actor=ACTOR)
    subject = forged.subject.replace("events.inference.", "events.trainer.")  # another producer's event
    js = trainer.nc.jetstream()
    await js.publish(subject, encode_envelope(forged))

    async def parked() -> bool:
        return (await js.stream_info(DEAD_LETTER_STREAM)).state.messages == 1

    await wait_until(parked)
    message = await js.get_last_msg(DEAD_LETTER_STREAM, f"deadletter.{DISPATCH_DURABLE}.>")
    assert message.headers is not None and message.headers[HEADER_ORIGINAL_SUBJECT] == subject
    assert "claims to be events.inference." in message.headers[HEADER_DEAD_LETTER_REASON]
    assert (await js.stream_info(QUEUE_STREAM)).state.messages == 1, "only the genuine job is queued"
