"""The job queue on JetStream: a work-queue stream `TRAINER_JOBS` with one subject per priority band
(`trainer.jobs.high|normal|low`) and one durable pull consumer per band, shared by all workers.

JetStream has no message priority, so priority is a choice of consumer: a free worker asks `high`
first, then `normal`, then `low`, and takes one job. Within a band jobs run first-in first-out.
The queue is fed by the Dispatcher from JobQueued events in EVENTS (Nats-Msg-Id = the event id, so a
redelivered JobQueued enqueues nothing twice): the event log stays the only source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError

from contracts import ContractError, decode_envelope
from contracts.events.jobs import JobQueued
from contracts.stream import STREAM_NAME
from contracts.subjects import type_filter
from services.runtime.dead_letters import park
from services.runtime.logging import get_logger
from services.trainer.domain import BANDS, PRODUCER, Band, priority_band

QUEUE_STREAM = "TRAINER_JOBS"
QUEUE_DEDUPE_WINDOW = 3600.0  # seconds: a dispatcher restart within an hour never enqueues a job twice
DISPATCH_DURABLE = "trainer-dispatch"


def band_subject(band: Band) -> str:
    return f"trainer.jobs.{band}"


def band_durable(band: Band) -> str:
    return f"trainer-jobs-{band}"


async def ensure_queue(nc: Client, ack_wait: float, replicas: int = 1) -> None:
    """Create the queue stream and the band consumers (idempotent)."""
    js = nc.jetstream()
    config = StreamConfig(
        name=QUEUE_STREAM,
        subjects=["trainer.jobs.>"],
        retention=RetentionPolicy.WORK_QUEUE,  # a job message is gone once a worker acknowledges it
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,
        num_replicas=replicas,
        duplicate_window=QUEUE_DEDUPE_WINDOW,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
    for band in BANDS:
        consumer = ConsumerConfig(
            durable_name=band_durable(band),
            filter_subject=band_subject(band),
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait,  # no heartbeat for this long: the job goes to another worker
            max_deliver=-1,  # the worker counts attempts itself and fails the job after max_attempts
        )
        await js.add_consumer(QUEUE_STREAM, consumer)


@dataclass
class Ticket:
    """A job taken from the queue; hold it with heartbeats, acknowledge when the job has ended."""

    job_id: uuid.UUID
    band: Band
    deliveries: int
    msg: Msg

    async def heartbeat(self) -> None:
        await self.msg.in_progress()

    async def done(self) -> None:
        await self.msg.ack_sync()


class JobQueue:
    def __init__(self, nc: Client, fetch_timeout: float = 1.0) -> None:
        self.js = nc.jetstream()
        self.fetch_timeout = fetch_timeout
        self._subs: dict[Band, nats.js.JetStreamContext.PullSubscription] = {}

    async def bind(self) -> None:
        for band in BANDS:
            self._subs[band] = await self.js.pull_subscribe_bind(durable=band_durable(band), stream=QUEUE_STREAM)

    async def take(self) -> Ticket | None:
        """The next job, highest band first; None when every band is empty."""
        for band in BANDS:
            wait = self.fetch_timeout if band == BANDS[-1] else 0.05  # seconds; only the last band blocks
            try:
                (msg,) = await self._subs[band].fetch(1, timeout=wait)
            except TimeoutError:  # nats-py raises its own subclass or the builtin, depending on the path
                continue
            body = json.loads(msg.data)
            return Ticket(uuid.UUID(body["job_id"]), band, msg.metadata.num_delivered, msg)
        return None


class Dispatcher:
    """Feeds the queue from the job's JobQueued events (durable consumer on EVENTS)."""

    def __init__(self, nc: Client, batch: int = 64) -> None:
        self.js = nc.jetstream()
        self.batch = batch
        self.log = get_logger("trainer.dispatcher")
        self._sub: nats.js.JetStreamContext.PullSubscription | None = None
        self.health = "starting"  # "ok", or "retrying: <error>" while it cannot dispatch

    async def start(self) -> None:
        config = ConsumerConfig(
            durable_name=DISPATCH_DURABLE,
            filter_subject=type_filter(JobQueued.type_name(), producer=PRODUCER, aggregate_type="job"),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=-1,
        )
        try:
            await self.js.consumer_info(STREAM_NAME, DISPATCH_DURABLE)
        except NotFoundError:
            await self.js.add_consumer(STREAM_NAME, config)
        self._sub = await self.js.pull_subscribe_bind(durable=DISPATCH_DURABLE, stream=STREAM_NAME)

    async def dispatch_once(self, timeout: float = 1.0) -> int:
        assert self._sub is not None, "start() first"
        try:
            messages = await self._sub.fetch(self.batch, timeout=timeout)
        except TimeoutError:  # nats-py raises its own subclass or the builtin, depending on the path
            return 0
        for msg in messages:  # in stream order: FIFO within a band
            await self._enqueue(msg)
        return len(messages)

    async def _enqueue(self, msg: Msg) -> None:
        try:
            envelope = decode_envelope(msg.data, msg.subject)
        except ContractError as exc:
            await park(self.js, msg, DISPATCH_DURABLE, f"unreadable or forged event: {exc}")
            return
        if not isinstance(envelope.event, JobQueued):
            await park(self.js, msg, DISPATCH_DURABLE, f"a {envelope.event.type_name()} where JobQueued was expected")
            return
        band = priority_band(envelope.event.priority)
        body = json.dumps({"job_id": envelope.aggregate_id, "priority": envelope.event.priority}).encode()
        await self.js.publish(band_subject(band), body, headers={"Nats-Msg-Id": str(envelope.event_id)})
        await msg.ack()

    async def run(self, stop: asyncio.Event) -> None:
        if self._sub is None:
            await self.start()
        backoff = 0.5
        while not stop.is_set():
            try:
                await self.dispatch_once()
                backoff, self.health = 0.5, "ok"
            except Exception as exc:  # supervised: said, then retried with backoff
                transient = isinstance(exc, (nats.errors.Error, TimeoutError))
                self.health = f"retrying: {exc!r}"
                (self.log.warning if transient else self.log.error)(
                    "dispatch failed, retrying", error=repr(exc), retry_in_s=backoff
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 30.0)
