"""One method per trainer command: load, check, decide, save. Served over rpc.trainer.* and called by tests.

Blocking work (files, tokenizers, SQLite) runs in a worker thread; a refused command raises a
TrainerError and has recorded nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from contracts import Actor
from contracts.events.jobs import JobQueued, JobRequested
from services.runtime import access
from services.runtime.aggregate import Causation
from services.runtime.event_store import AggregateNotFoundError
from services.trainer import registration
from services.trainer.commands import (
    CancelJob,
    CreateJob,
    GetJob,
    RegisterBaseModel,
    RegisterDataset,
    ValidateDataset,
)
from services.trainer.context import TrainerContext
from services.trainer.domain import Job
from services.trainer.errors import UnknownJobError
from services.trainer.job_checks import check_job, parse_config
from services.trainer.replies import (
    BaseModelRegistration,
    CancelRequested,
    Checkpoint,
    DatasetRegistration,
    DatasetRevalidation,
    DatasetValidation,
    JobCreated,
    JobDetail,
)


class TrainerHandlers:
    """One method per `rpc.trainer.<command>` (services/trainer/adapters/rpc.py lists them);
    `recorded` runs after a command that may have recorded events (the outbox relay's nudge)."""

    def __init__(self, ctx: TrainerContext, recorded: Callable[[], None] = lambda: None) -> None:
        self.ctx, self.recorded = ctx, recorded

    async def register_dataset(self, cmd: RegisterDataset) -> DatasetRegistration:
        """Store a dataset file and validate it; refused as a whole with every bad row."""
        access.require(cmd.actor, "member", "registering a dataset")
        if cmd.path is not None:  # a path reads the trainer's own disk: operators only
            access.require(cmd.actor, "admin", "registering a dataset by path")
        result = await asyncio.to_thread(registration.register_dataset, self.ctx, cmd, Causation(cmd.actor))
        self.recorded()
        return result

    async def validate_dataset(self, cmd: ValidateDataset) -> DatasetValidation | DatasetRevalidation:
        """Check a file (dry run) or re-validate a registered dataset under a model."""
        access.require(cmd.actor, "admin" if cmd.path is not None else "member", "validating a dataset")
        result = await asyncio.to_thread(registration.validate_dataset, self.ctx, cmd, Causation(cmd.actor))
        self.recorded()
        return result

    async def register_base_model(self, cmd: RegisterBaseModel) -> BaseModelRegistration:
        """Store a Hugging Face model folder as a base model jobs may fine-tune."""
        access.require(cmd.actor, "admin", "registering a base model")
        result = await asyncio.to_thread(registration.register_base_model, self.ctx, cmd, Causation(cmd.actor))
        self.recorded()
        return result

    async def create_job(self, cmd: CreateJob) -> JobCreated:
        """Check a training configuration and queue the job."""
        access.require(cmd.actor, "member", "creating a job")
        result = await create_job(self.ctx, cmd, Causation(cmd.actor))
        self.recorded()
        return result

    async def cancel_job(self, cmd: CancelJob) -> CancelRequested:
        """Ask a queued or running job to stop."""
        access.require(cmd.actor, "member", "cancelling a job")
        result = await asyncio.to_thread(cancel_job, self.ctx, cmd, Causation(cmd.actor))
        self.recorded()
        return result

    async def get_job(self, cmd: GetJob) -> JobDetail:
        """A job as its event history leaves it."""
        return await asyncio.to_thread(get_job, self.ctx, cmd.job_id, cmd.actor)


async def create_job(ctx: TrainerContext, cmd: CreateJob, cause: Causation) -> JobCreated:
    config = parse_config(cmd.config)
    estimate = await asyncio.to_thread(check_job, ctx, config, cmd.actor)
    if ctx.budget is not None:
        await ctx.budget.check(cmd.actor, config)
    job_id = uuid.uuid4()
    requested = JobRequested(name=cmd.job_name, config=config, owner=access.owner_of(cmd.actor))
    job = Job.start(job_id, requested, cause)
    job.record(JobQueued(priority=config.priority, estimated_memory_bytes=estimate.total), cause)
    await asyncio.to_thread(ctx.app.save_aggregates, job)
    return JobCreated(job_id=str(job_id), status=job.status, estimated_memory_bytes=estimate.total)


def cancel_job(ctx: TrainerContext, cmd: CancelJob, cause: Causation) -> CancelRequested:
    def decide(job: Job) -> Job:
        if not access.sees(cmd.actor, job.owner):
            raise UnknownJobError(f"no job {cmd.job_id!r}")
        job.request_cancel(cmd.reason, cause)
        return job

    try:
        job = ctx.app.change_job(_job_uuid(cmd.job_id), decide)
    except AggregateNotFoundError:
        raise UnknownJobError(f"no job {cmd.job_id!r}") from None
    return CancelRequested(job_id=cmd.job_id, status=job.status, cancel_requested=job.cancel_requested)


def get_job(ctx: TrainerContext, job_id: str, actor: Actor) -> JobDetail:
    """The job, if `actor` may see it (another tenant's job is unknown)."""
    try:
        job = ctx.app.load(_job_uuid(job_id), Job)
    except AggregateNotFoundError:
        raise UnknownJobError(f"no job {job_id!r}") from None
    if not access.sees(actor, job.owner):
        raise UnknownJobError(f"no job {job_id!r}")
    last = job.last_checkpoint
    return JobDetail(
        job_id=job_id,
        name=job.name,
        status=job.status,
        attempts=job.attempts,
        step=job.step,
        last_loss=job.last_loss,
        cancel_requested=job.cancel_requested,
        last_checkpoint=Checkpoint(step=last.step, uri=last.uri) if last else None,
        exports=job.exports,
        config=job.config,
    )


def _job_uuid(job_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(job_id)
    except ValueError:
        raise UnknownJobError(f"no job {job_id!r}: job ids are UUIDs") from None
