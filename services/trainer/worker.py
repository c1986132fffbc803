"""A trainer worker: takes one job at a time from the queue, keeps it with heartbeats while it
trains (in a thread, so the event loop stays free to send them), acknowledges it when it ended.

A killed worker sends no more heartbeats: after `queue_ack_wait_seconds` JetStream hands the job to
another worker, which resumes it from its newest checkpoint. Before running, a job is triaged:
already ended -> acknowledge; cancel requested -> JobCancelled; too many attempts -> JobFailed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Literal
from uuid import UUID

from nats.aio.client import Client

from contracts.events.jobs import JobCancelled, JobFailed
from services.runtime.aggregate import Causation
from services.runtime.event_store import AggregateNotFoundError
from services.runtime.logging import correlation, get_logger
from services.trainer import recipe
from services.trainer.adapters.queue import JobQueue, Ticket
from services.trainer.context import TrainerContext
from services.trainer.domain import Job
from services.trainer.job_run import Outcome, run_job

Triage = Literal["run", "done"]


class Worker:
    def __init__(self, ctx: TrainerContext, nc: Client) -> None:
        self.ctx, self.nc = ctx, nc
        self.queue = JobQueue(nc, ctx.settings.fetch_timeout_seconds)
        self.log = get_logger("trainer.worker").bind(worker_id=ctx.settings.worker_id)
        self.jobs_done = 0
        # Every job trains on the same thread: torch's OpenMP thread team belongs to the thread that
        # first runs a kernel, and a fresh thread per job would add a team competing for the cores.
        self._training_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trainer-job")

    async def run(self, stop: asyncio.Event, max_jobs: int | None = None) -> None:
        """Work until `stop` is set (the current job finishes first) or `max_jobs` jobs were handled."""
        await self.queue.bind()
        await asyncio.to_thread(self._remove_dead_workers_scratch)
        # Import the training stack now, on the thread jobs train on: a worker that cannot (say, a
        # CPU extension this CPU cannot run) dies at start-up, visibly, not when it takes a job.
        await asyncio.get_running_loop().run_in_executor(self._training_thread, recipe.import_unsloth)
        self.log.info("worker ready")
        while not stop.is_set() and (max_jobs is None or self.jobs_done < max_jobs):
            try:
                ticket = await self.queue.take()
                if ticket is not None:
                    await self.work_on(ticket)
                    self.jobs_done += 1
            except Exception:  # NATS or the store unreachable: an unacknowledged job comes back later
                self.log.exception("queue or job handling failed; retrying")
                await asyncio.sleep(1.0)

    async def work_on(self, ticket: Ticket) -> None:
        job_id = str(ticket.job_id)
        with correlation(job_id, job_id=job_id):
            triage = await asyncio.to_thread(self._triage, ticket)
            if triage == "done":
                await ticket.done()
                return
            self.log.info("job taken", band=ticket.band, deliveries=ticket.deliveries)
            heartbeat = asyncio.create_task(self._heartbeat(ticket))
            try:
                async with self._measuring(ticket):
                    loop = asyncio.get_running_loop()
                    outcome = await loop.run_in_executor(self._training_thread, self._run_job, ticket.job_id)
            finally:
                heartbeat.cancel()
            self.log.info("job ended", outcome=outcome)
            if outcome != "LOST":  # a lost job belongs to the worker that took it over
                await ticket.done()

    def _run_job(self, job_id: UUID) -> Outcome:
        with collector_skips_older_objects():
            return run_job(self.ctx, job_id)

    def _triage(self, ticket: Ticket) -> Triage:
        try:
            job = self.ctx.app.load(ticket.job_id, Job)
        except AggregateNotFoundError:
            self.log.error("queued job not in the trainer's store; dropped", job_id=str(ticket.job_id))
            return "done"
        cause = Causation.system(f"trainer-worker:{self.ctx.settings.worker_id}", correlation_id=str(ticket.job_id))
        if job.terminal:
            return "done"
        if job.status == "RUNNING" and ticket.deliveries == 1:
            self.log.warning("duplicate queue entry of a running job; dropped")
            return "done"
        if job.cancel_requested:
            self.ctx.app.change_job(job.id, lambda j: j.finish(JobCancelled(step=j.step or None), cause))
            return "done"
        if job.attempts >= self.ctx.settings.max_attempts:
            message = f"{job.attempts} workers started this job and none finished it (killed or out of memory?)"
            event = JobFailed(category="ResourceError", message=message, step=job.step or None)
            self.ctx.app.change_job(job.id, lambda j: j.finish(event, cause))
            return "done"
        return "run"

    async def _heartbeat(self, ticket: Ticket) -> None:
        interval = self.ctx.settings.queue_ack_wait_seconds / 4
        while True:
            await asyncio.sleep(interval)
            try:
                await ticket.heartbeat()
            except Exception as exc:  # a missed beat is survivable; several make the job move on
                self.log.warning("heartbeat failed", error=repr(exc))

    def _measuring(self, ticket: Ticket) -> contextlib.AbstractAsyncContextManager[object]:
        if self.ctx.energy is None:
            return contextlib.nullcontext()
        requester = self.ctx.app.first_envelope(ticket.job_id).actor
        return self.ctx.energy.measuring(str(ticket.job_id), requester)

    def _remove_dead_workers_scratch(self) -> None:
        """Scratch folders of killed workers on this host (named <host>-<pid>) are removed."""
        root = self.ctx.settings.folder("work_dir")
        host = socket.gethostname()
        for folder in root.glob(f"{host}-*") if root.is_dir() else []:
            pid = folder.name.removeprefix(f"{host}-")
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def collector_skips_older_objects() -> Iterator[None]:
    """While the block runs, Python's garbage collector scans only the objects made in it.

    A worker holds ~0.6M objects once the training stack is imported; each full collection during
    a job scanned them all (~0.25 s on 2 CPU cores, ~5% of the demo job's training loop). They are
    unfrozen afterwards, so a cycle among them that became garbage is still collected.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
