"""The dashboard's overview: jobs, datasets and base models, folded from their events (model versions
are the registry's: services/api/models_routes.py asks it).

Pure domain code: `apply` takes one decoded envelope at a time, in stream order per subject, and
ignores what it does not list. The API rebuilds it by replaying the log at start-up and keeps it
current by following the stream (services/api/overview_feed.py); nothing here is stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from contracts import Envelope
from contracts.events.carbon import EmissionsMeasured
from contracts.events.datasets import DatasetRegistered, DatasetValidated
from contracts.events.jobs import (
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobQueued,
    JobRequested,
    JobStarted,
    TrainingProgressed,
)
from contracts.events.models import BaseModelRegistered


@dataclass
class JobRow:
    job_id: str
    name: str | None
    status: str
    base_model: str
    dataset_id: str
    created_at: datetime
    updated_at: datetime
    step: int | None = None
    max_steps: int | None = None
    epoch: float | None = None
    last_loss: float | None = None
    tokens_per_second: float | None = None
    energy_kwh: float | None = None
    emissions_g: float | None = None
    failure: dict[str, str] | None = None


@dataclass
class DatasetRow:
    dataset_id: str
    name: str
    file_format: str
    size_bytes: int
    registered_at: datetime
    valid: bool | None = None
    rows: int | None = None
    data_format: str | None = None


@dataclass
class BaseModelRow:
    name: str
    architecture: str
    parameters: int
    size_bytes: int
    registered_at: datetime
    uri: str
    sha256: str


@dataclass
class Overview:
    jobs: dict[str, JobRow] = field(default_factory=dict)
    datasets: dict[str, DatasetRow] = field(default_factory=dict)
    base_models: dict[str, BaseModelRow] = field(default_factory=dict)
    _early_energy: dict[str, tuple[float, float]] = field(default_factory=dict)  # carbon seen before the job

    def apply(self, envelope: Envelope) -> None:
        event, key, at = envelope.event, envelope.aggregate_id, envelope.occurred_at
        match event:
            case JobRequested():
                kwh, grams = self._early_energy.pop(key, (None, None))
                self.jobs[key] = JobRow(
                    key, event.name, "PENDING", event.config.base_model, event.config.dataset_id, at, at,
                    energy_kwh=kwh, emissions_g=grams,
                )  # fmt: skip
            case EmissionsMeasured() if envelope.aggregate_type == "job":
                self._add_energy(key, event)
            case DatasetRegistered():
                self.datasets[key] = DatasetRow(key, event.name, event.file_format, event.size_bytes, at)
            case DatasetValidated() if key in self.datasets:
                row = self.datasets[key]
                row.valid, row.rows, row.data_format = event.valid, event.rows, event.data_format
            case BaseModelRegistered():
                self.base_models[event.name] = BaseModelRow(
                    event.name, event.architecture, event.parameters, event.size_bytes, at, event.uri, event.sha256
                )
            case _ if key in self.jobs and envelope.aggregate_type == "job":
                self._apply_to_job(self.jobs[key], event)
                self.jobs[key].updated_at = max(self.jobs[key].updated_at, at)

    def _apply_to_job(self, job: JobRow, event: Any) -> None:
        match event:
            case JobQueued():
                job.status = "QUEUED"
            case JobStarted():
                job.status, job.max_steps = "RUNNING", event.max_steps
            case TrainingProgressed():
                job.step, job.epoch, job.last_loss = event.step, event.epoch, event.loss
                job.max_steps = event.max_steps or job.max_steps
                job.tokens_per_second = event.tokens_per_second
            case JobFailed():
                job.status, job.failure = "FAILED", {"category": event.category, "message": event.message}
            case JobCompleted():
                job.status, job.step, job.last_loss = "COMPLETED", event.steps, event.final_loss or job.last_loss
            case JobCancelled():
                job.status = "CANCELLED"

    def _add_energy(self, job_id: str, event: EmissionsMeasured) -> None:
        job = self.jobs.get(job_id)
        if job is None:  # the carbon stream is read beside the trainer's: it may come first
            kwh, grams = self._early_energy.get(job_id, (0.0, 0.0))
            self._early_energy[job_id] = (kwh + event.energy_kwh, grams + event.emissions_g)
            return
        job.energy_kwh = (job.energy_kwh or 0.0) + event.energy_kwh
        job.emissions_g = (job.emissions_g or 0.0) + event.emissions_g

    def job_rows(self) -> list[dict[str, Any]]:
        return [asdict(row) for row in sorted(self.jobs.values(), key=lambda r: r.created_at, reverse=True)]

    def dataset_rows(self) -> list[dict[str, Any]]:
        return [asdict(row) for row in sorted(self.datasets.values(), key=lambda r: r.registered_at, reverse=True)]

    def base_model_rows(self) -> list[dict[str, Any]]:
        return [asdict(row) for row in sorted(self.base_models.values(), key=lambda r: r.name)]
