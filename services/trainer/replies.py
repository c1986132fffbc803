"""What each trainer command answers (the `result` of an `rpc.trainer.<name>` reply): one pydantic
model per command, returned by the handlers and shown as they are by the API and the CLI."""

from __future__ import annotations

from pydantic import BaseModel, Field

from contracts.events.datasets import DataFormat, FileFormat, RowError, TokenStats
from contracts.events.models import ArtifactRef
from contracts.training_config import TrainingConfig
from services.trainer.domain import JobStatus


class DatasetValidation(BaseModel):
    """A file's validation: its format, rows, every bad row, and token statistics under a model."""

    valid: bool = Field(description="True when no row has an error: jobs may use the dataset.")
    data_format: DataFormat | None = Field(None, description="Row format detected; None if undetectable.")
    rows: int = Field(ge=0, description="Rows read from the file.")
    errors: list[RowError] = Field(default_factory=list, description="Problems found, at most the first 100.")
    tokenizer: str | None = Field(None, description="Model whose tokenizer produced token_stats.")
    token_stats: TokenStats | None = Field(None, description="Length statistics; None when not computed.")
    sample: str | None = Field(None, description="One rendered row with trained spans marked [[like this]].")


class DatasetRegistration(DatasetValidation):
    """register_dataset: the stored dataset and its validation (the first one, if already registered)."""

    dataset_id: str
    already_registered: bool = Field(description="The same bytes were registered before: nothing new stored.")
    name: str
    uri: str = Field(description="Where the stored file lives (s3://bucket/key or file:///path).")
    sha256: str
    size_bytes: int = Field(ge=0)
    file_format: FileFormat


class DatasetRevalidation(DatasetValidation):
    """validate_dataset of a registered dataset (recorded as its latest DatasetValidated)."""

    dataset_id: str


class BaseModelRegistration(BaseModel):
    """register_base_model: the stored base model, usable as a job's `config.base_model`."""

    name: str
    uri: str
    sha256: str
    size_bytes: int = Field(ge=0)
    source: str
    architecture: str
    parameters: int = Field(ge=0)
    already_registered: bool


class JobCreated(BaseModel):
    """create_job: the job is recorded and waits in the queue."""

    job_id: str
    status: JobStatus
    estimated_memory_bytes: int | None = Field(None, description="Peak memory the trainer expects the job to need.")


class CancelRequested(BaseModel):
    """cancel_job: the job was asked to stop (a JobCancelled event follows)."""

    job_id: str
    status: JobStatus
    cancel_requested: bool


class Checkpoint(BaseModel):
    step: int
    uri: str


class JobDetail(BaseModel):
    """get_job: the job as its event history leaves it."""

    job_id: str
    name: str | None
    status: JobStatus
    attempts: int
    step: int
    last_loss: float | None
    cancel_requested: bool
    last_checkpoint: Checkpoint | None
    exports: list[ArtifactRef]
    config: TrainingConfig
