"""The trainer's aggregates and the job state machine. Pure: no I/O, no heavy imports.

Job: PENDING -> QUEUED -> RUNNING -> COMPLETED, with FAILED and CANCELLED exits. A RUNNING job
may be started again (a new attempt after its worker died). Dataset and BaseModel are immutable
once registered; their ids derive from content (dataset) or name (base model), so registering the
same thing twice finds the first registration.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from contracts import DomainEvent
from contracts.events.datasets import DatasetRegistered, DatasetValidated
from contracts.events.jobs import (
    CheckpointSaved,
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobFailed,
    JobQueued,
    JobRequested,
    JobStarted,
    TrainingProgressed,
)
from contracts.events.models import BaseModelRegistered, ModelExported
from contracts.training_config import TrainingConfig
from services.runtime.aggregate import Causation, EventSourcedAggregate
from services.trainer.errors import JobStateError

PRODUCER = "trainer"
_NAMESPACE = uuid.UUID("5b0d6c1e-2f44-4c0c-9a53-6d1f4f1b7a10")  # greentune trainer ids (uuid5)

JobStatus = Literal["PENDING", "QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"]
TERMINAL: frozenset[str] = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
Band = Literal["high", "normal", "low"]
BANDS: tuple[Band, ...] = ("high", "normal", "low")  # drained in this order


def priority_band(priority: int) -> Band:
    """Jobs wait in three bands; a worker drains `high` (priority > 0) before `normal` (0) and `low` (< 0)."""
    return "high" if priority > 0 else "normal" if priority == 0 else "low"


def dataset_id_for(sha256: str, owner: str | None = None) -> uuid.UUID:
    """Content-addressed within an owner: two tenants uploading the same bytes get two datasets."""
    return uuid.uuid5(_NAMESPACE, f"dataset:{sha256}" if owner is None else f"dataset:{owner}:{sha256}")


def base_model_id_for(name: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"base_model:{name}")


@dataclass(frozen=True)
class Checkpoint:
    step: int
    uri: str
    sha256: str | None


class Job(EventSourcedAggregate):
    producer = PRODUCER

    def when(self, event: DomainEvent) -> None:
        match event:
            case JobRequested(config=config, name=name):
                self.config: TrainingConfig = config
                self.name, self.owner = name, event.owner
                self.status: JobStatus = "PENDING"
                self.attempts, self.step, self.cancel_requested = 0, 0, False
                self.checkpoints: list[Checkpoint] = []
                self.last_loss: float | None = None
                self.exports: list[dict[str, object]] = []
            case JobQueued():
                self.status = "QUEUED"
            case JobStarted(attempt=attempt):
                self.status, self.attempts = "RUNNING", attempt
            case TrainingProgressed(step=step, loss=loss):
                self.step, self.last_loss = step, loss
            case CheckpointSaved(step=step, uri=uri, sha256=sha):
                self.checkpoints.append(Checkpoint(step, uri, sha))
            case JobCancelRequested():
                self.cancel_requested = True
            case JobCompleted():
                self.status = "COMPLETED"
            case ModelExported(artifacts=artifacts):
                self.exports = [a.model_dump() for a in artifacts]
            case JobFailed():
                self.status = "FAILED"
            case JobCancelled():
                self.status = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def last_checkpoint(self) -> Checkpoint | None:
        return max(self.checkpoints, key=lambda c: c.step) if self.checkpoints else None

    def request_cancel(self, reason: str | None, causation: Causation) -> None:
        """Ask the job to stop; a job no worker runs yet is cancelled at once."""
        if self.terminal:
            raise JobStateError(f"job {self.id} is already {self.status}; nothing to cancel")
        if not self.cancel_requested:
            self.record(JobCancelRequested(reason=reason), causation)
        if self.status in ("PENDING", "QUEUED"):
            self.record(JobCancelled(step=None), causation)

    def begin_attempt(
        self, worker_id: str, device: str, resumed_from: int | None, max_steps: int, cause: Causation
    ) -> int:
        if self.status not in ("QUEUED", "RUNNING"):
            raise JobStateError(f"job {self.id} is {self.status}; it cannot start")
        attempt = self.attempts + 1
        event = JobStarted(
            worker_id=worker_id, attempt=attempt, device=device, resumed_from_step=resumed_from, max_steps=max_steps
        )
        self.record(event, cause)
        return attempt

    def finish(self, event: JobCompleted | JobFailed | JobCancelled, causation: Causation) -> None:
        if self.terminal:
            raise JobStateError(f"job {self.id} is already {self.status}")
        self.record(event, causation)


class Dataset(EventSourcedAggregate):
    producer = PRODUCER

    def when(self, event: DomainEvent) -> None:
        match event:
            case DatasetRegistered() as registered:
                self.registered = registered
                self.validations: list[DatasetValidated] = []
            case DatasetValidated() as validated:
                self.validations.append(validated)

    @property
    def valid(self) -> bool:
        return bool(self.validations) and self.validations[0].valid


class BaseModel(EventSourcedAggregate):
    producer = PRODUCER

    def when(self, event: DomainEvent) -> None:
        if isinstance(event, BaseModelRegistered):
            self.registered = event
