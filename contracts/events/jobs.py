"""Fine-tuning job events: PENDING -> QUEUED -> RUNNING -> COMPLETED, with FAILED and CANCELLED exits."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import DomainEvent
from contracts.training_config import TrainingConfig

FailureCategory = Literal["ValidationError", "ResourceError", "ModelError", "StorageError", "InternalError"]


class _JobEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "job"


class JobRequested(_JobEvent):
    """Somebody asked for a fine-tuning job; the event carries its whole configuration."""

    type: Literal["JobRequested"] = Field("JobRequested", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    name: str | None = Field(None, max_length=200, description="Optional human name of the job.")
    config: TrainingConfig = Field(description="The complete, validated job configuration.")
    owner: str | None = Field(
        None, description="Tenant that owns it (the API key's tenant that asked); None: an operator's."
    )


class JobQueued(_JobEvent):
    """The job passed the pre-flight checks and waits for a free trainer worker."""

    type: Literal["JobQueued"] = Field("JobQueued", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    priority: int = Field(description="Higher-priority jobs are taken first.")
    estimated_memory_bytes: int | None = Field(None, ge=0, description="Pre-flight peak memory estimate.")


class JobStarted(_JobEvent):
    """A worker took the job (again, after a crash, when `attempt` > 1)."""

    type: Literal["JobStarted"] = Field("JobStarted", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    worker_id: str = Field(min_length=1, description="The worker that runs the job.")
    attempt: int = Field(ge=1, description="1 for the first run, n for the n-th delivery of the job.")
    device: str = Field(description="Where it trains: `cpu`, `cuda:0`, ...")
    resumed_from_step: int | None = Field(None, ge=0, description="Checkpoint step resumed from, if any.")
    max_steps: int = Field(ge=1, description="Optimizer steps the whole job will take.")


class TrainingProgressed(_JobEvent):
    """Step metrics, every `progress_interval_steps` steps.

    Version history: v1 (first trainer prototype) named the learning rate `lr` and had no
    grad norm, throughput or step total; `contracts.upcasters` brings v1 events to v2.
    """

    type: Literal["TrainingProgressed"] = Field("TrainingProgressed", description="Event type.")
    version: Literal[2] = Field(2, description="Schema version of this event type.")
    step: int = Field(ge=1, description="Optimizer step just finished.")
    max_steps: int | None = Field(None, ge=1, description="Steps the job will take; None if unknown (v1).")
    epoch: float = Field(ge=0, description="Fractional epoch at this step.")
    loss: float = Field(description="Training loss at this step (assistant tokens only for chat data).")
    learning_rate: float = Field(ge=0, description="Learning rate used for this step.")
    grad_norm: float | None = Field(None, description="Gradient norm before clipping; None if not measured.")
    tokens_per_second: float | None = Field(
        None, ge=0, description="Training throughput since the previous progress event, tokens/s."
    )
    tokens_seen: int | None = Field(None, ge=0, description="Tokens trained on so far in this job.")
    attempt: int | None = Field(
        None, ge=1, description="Which run of the job (see JobStarted.attempt) measured it; None if unknown."
    )


class EpochCompleted(_JobEvent):
    """An epoch ended; carries eval loss when the job has an eval split."""

    type: Literal["EpochCompleted"] = Field("EpochCompleted", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    epoch: int = Field(ge=1, description="The epoch that ended (1-based).")
    step: int = Field(ge=0, description="Optimizer step at the end of the epoch.")
    train_loss: float | None = Field(None, description="Mean training loss over the epoch.")
    eval_loss: float | None = Field(None, description="Loss on the eval split; None without one.")


class CheckpointSaved(_JobEvent):
    """A resumable checkpoint (weights, optimizer, scheduler, RNG) is in the artifact store."""

    type: Literal["CheckpointSaved"] = Field("CheckpointSaved", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    step: int = Field(ge=1, description="Optimizer step of the checkpoint.")
    uri: str = Field(min_length=1, description="Where the checkpoint folder lives.")
    size_bytes: int = Field(ge=0, description="Total size of the checkpoint's files.")
    sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the folder's sorted file manifest."
    )


class JobCompleted(_JobEvent):
    """Training finished normally."""

    type: Literal["JobCompleted"] = Field("JobCompleted", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    steps: int = Field(ge=0, description="Optimizer steps run in total.")
    final_loss: float | None = Field(None, description="Last logged training loss.")
    eval_loss: float | None = Field(None, description="Final eval loss, when there is an eval split.")
    tokens_trained: int = Field(ge=0, description="Tokens trained on, all epochs.")
    train_seconds: float = Field(ge=0, description="Wall time spent in the training loop, seconds.")


class JobFailed(_JobEvent):
    """The job stopped with an error a person can act on."""

    type: Literal["JobFailed"] = Field("JobFailed", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    category: FailureCategory = Field(description="What kind of failure: input, resources, model, storage.")
    message: str = Field(min_length=1, description="What went wrong and what to do about it.")
    step: int | None = Field(None, ge=0, description="Step reached before the failure, if training started.")


class JobCancelRequested(_JobEvent):
    """Somebody asked to stop the job."""

    type: Literal["JobCancelRequested"] = Field("JobCancelRequested", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    reason: str | None = Field(None, max_length=1000, description="Why, as given by the requester.")


class JobCancelled(_JobEvent):
    """The job stopped on request; its worker is free again."""

    type: Literal["JobCancelled"] = Field("JobCancelled", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    step: int | None = Field(None, ge=0, description="Step reached when it stopped; None if it never ran.")
