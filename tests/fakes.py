"""A small event-sourced service used to exercise the runtime kernel (not a real greentune service)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID, uuid4

from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from contracts import DomainEvent, decode_envelope
from contracts.events.jobs import JobQueued, JobRequested, TrainingProgressed
from contracts.stream import HEADER_NOTIFICATION_ID
from contracts.training_config import TrainingConfig
from services.runtime.aggregate import Causation, EventSourcedAggregate
from services.runtime.event_store import ServiceApplication
from services.runtime.settings import KernelSettings

PRODUCER = "testsvc"
CAUSE = Causation.system("tests")


class LedgerJob(EventSourcedAggregate):
    producer = PRODUCER

    def when(self, event: DomainEvent) -> None:
        match event:
            case JobRequested():
                self.status, self.steps = "requested", 0
            case JobQueued():
                self.status = "queued"
            case TrainingProgressed(step=step):
                self.status, self.steps = "running", step


class LedgerApp(ServiceApplication):
    producer = PRODUCER

    def request(self) -> UUID:
        config = TrainingConfig(base_model="tiny", dataset_id="facts")
        job = LedgerJob.start(uuid4(), JobRequested(config=config), CAUSE)
        job.record(JobQueued(priority=0), CAUSE)
        self.save_aggregates(job)
        return job.id

    def progress(self, job_id: UUID, steps: int) -> None:
        job = self.load(job_id, LedgerJob)
        for _ in range(steps):
            job.record(TrainingProgressed(step=job.steps + 1, epoch=0.0, loss=1.0, learning_rate=1e-3), CAUSE)
        self.save_aggregates(job)


def ledger_app(data_dir: Path) -> LedgerApp:
    return LedgerApp(KernelSettings(data_dir=data_dir))


def fill(app: LedgerApp, jobs: int, steps: int) -> int:
    """Write `jobs` jobs of 2 + `steps` events each; returns the outbox head."""
    for _ in range(jobs):
        app.progress(app.request(), steps)
    return app.outbox_head()


async def producer_log(js: JetStreamContext, producer: str = PRODUCER) -> list[tuple[int, str]]:
    """(outbox position, event id) of every message `producer` has in the stream, in stream order."""
    out: list[tuple[int, str]] = []
    sub = await js.subscribe(f"events.{producer}.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except Exception:
                return out
            out.append((int(msg.headers[HEADER_NOTIFICATION_ID]), str(decode_envelope(msg.data).event_id)))
            if msg.metadata.num_pending == 0:
                return out
    finally:
        await sub.unsubscribe()


async def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(interval)
