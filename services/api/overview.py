"""The dashboard's overview: jobs, datasets and base models, folded from their events into SQLite
(model versions are the registry's: services/api/models_routes.py asks it).

A read model like the services' own (services/runtime/views.py): rows and tracking position change
in one transaction, so the API resumes from where it stopped instead of replaying the log at every
start (services/api/overview_feed.py feeds it). A job's energy is summed in its own table, so the
carbon stream may reach it before the trainer's. Lists come newest first, a page at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from eventsourcing.sqlite import SQLiteCursor
from pydantic import BaseModel

from contracts import Actor, Envelope
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
from contracts.events.keys import ApiKeyCreated, ApiKeyRevoked
from contracts.events.models import BaseModelRegistered
from services.runtime import access
from services.runtime.views import SQLiteView
from services.trainer.domain import JobStatus

# What the overview reads (one consumer's filter subjects: they must not overlap).
KEY_EVENTS = "events.registry.api_key.>"
OVERVIEW_FILTERS = ("events.trainer.>", "events.carbon.job.>", KEY_EVENTS)


class JobFailure(BaseModel):
    category: str
    message: str


class JobRow(BaseModel):
    job_id: str
    name: str | None
    status: JobStatus
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
    failure: JobFailure | None = None


class DatasetRow(BaseModel):
    dataset_id: str
    name: str
    file_format: str
    size_bytes: int
    registered_at: datetime
    valid: bool | None = None
    rows: int | None = None
    data_format: str | None = None


class BaseModelRow(BaseModel):
    name: str
    architecture: str
    parameters: int
    size_bytes: int
    registered_at: datetime
    uri: str
    sha256: str


OPERATOR = Actor(kind="system", id="api")  # sees every row
_JOB = "UPDATE jobs SET updated_at = MAX(updated_at, ?), "


class OverviewView(SQLiteView):
    name = "api_overview"
    tables: ClassVar[dict[str, str]] = {
        "jobs": "CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, name TEXT, status TEXT, base_model TEXT, "
        "dataset_id TEXT, created_at TEXT, updated_at TEXT, step INTEGER, max_steps INTEGER, epoch REAL, "
        "last_loss REAL, tokens_per_second REAL, failure_category TEXT, failure_message TEXT, owner TEXT)",
        "jobs_by_age": "CREATE INDEX IF NOT EXISTS jobs_by_age ON jobs (created_at DESC, job_id)",
        "jobs_by_owner": "CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, created_at DESC, job_id)",
        "job_energy": "CREATE TABLE IF NOT EXISTS job_energy (job_id TEXT PRIMARY KEY, energy_kwh REAL, "
        "emissions_g REAL)",
        "datasets": "CREATE TABLE IF NOT EXISTS datasets (dataset_id TEXT PRIMARY KEY, name TEXT, file_format TEXT, "
        "size_bytes INTEGER, registered_at TEXT, valid INTEGER, rows INTEGER, data_format TEXT, owner TEXT)",
        "base_models": "CREATE TABLE IF NOT EXISTS base_models (name TEXT PRIMARY KEY, architecture TEXT, "
        "parameters INTEGER, size_bytes INTEGER, registered_at TEXT, uri TEXT, sha256 TEXT)",
        "api_keys": "CREATE TABLE IF NOT EXISTS api_keys (aggregate_id TEXT PRIMARY KEY, key_id TEXT, name TEXT, "
        "role TEXT, tenant TEXT, secret_sha256 TEXT UNIQUE, revoked INTEGER)",
    }

    version = 0  # bumped after each applied batch or reset: lists cached for one version stay true for it

    def apply(self, items: Sequence[tuple[int, Envelope]]) -> int:
        applied = super().apply(items)
        if applied:
            self.version += 1
            if any(envelope.aggregate_type == "api_key" for _, envelope in items):
                self._load_keys()
        return applied

    def reset(self) -> None:
        super().reset()
        self.version += 1
        self._load_keys()

    def opened(self) -> None:
        self._load_keys()

    def _load_keys(self) -> None:
        """The keys by their secret's hash, in memory: a request's key is checked with one lookup."""
        rows = self.query("SELECT * FROM api_keys")
        self.any_key = bool(rows)
        self.keys_by_hash = {
            str(r["secret_sha256"]): Actor(kind="api_key", id=str(r["key_id"]), tenant=str(r["tenant"]), role=r["role"])
            for r in rows
            if not r["revoked"]
        }

    def key_for(self, secret_sha256: str) -> Actor | None:
        """The actor of an API key that is not revoked, by its secret's hash."""
        return self.keys_by_hash.get(secret_sha256)

    def has_keys(self) -> bool:
        """Whether any API key was ever created (from then on every request needs one)."""
        return self.any_key

    def project(self, cursor: SQLiteCursor, envelope: Envelope, position: int) -> None:
        event, key, at = envelope.event, envelope.aggregate_id, envelope.occurred_at.isoformat()
        match event:
            case JobRequested(name=name, config=config):
                cursor.execute(
                    "INSERT OR IGNORE INTO jobs (job_id, name, status, base_model, dataset_id, created_at, updated_at, "
                    "owner) VALUES (?, ?, 'PENDING', ?, ?, ?, ?, ?)",
                    (key, name, config.base_model, config.dataset_id, at, at, event.owner),
                )
            case EmissionsMeasured(energy_kwh=kwh, emissions_g=grams) if envelope.aggregate_type == "job":
                cursor.execute(
                    "INSERT INTO job_energy VALUES (?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET "
                    "energy_kwh = energy_kwh + excluded.energy_kwh, emissions_g = emissions_g + excluded.emissions_g",
                    (key, kwh, grams),
                )
            case JobQueued():
                cursor.execute(_JOB + "status = 'QUEUED' WHERE job_id = ?", (at, key))
            case JobStarted(max_steps=max_steps):
                cursor.execute(_JOB + "status = 'RUNNING', max_steps = ? WHERE job_id = ?", (at, max_steps, key))
            case TrainingProgressed():
                cursor.execute(
                    _JOB + "step = ?, epoch = ?, last_loss = ?, max_steps = COALESCE(?, max_steps), "
                    "tokens_per_second = ? WHERE job_id = ?",
                    (at, event.step, event.epoch, event.loss, event.max_steps or None, event.tokens_per_second, key),
                )
            case JobFailed(category=category, message=message):
                cursor.execute(
                    _JOB + "status = 'FAILED', failure_category = ?, failure_message = ? WHERE job_id = ?",
                    (at, category, message, key),
                )
            case JobCompleted(steps=steps, final_loss=loss):
                cursor.execute(
                    _JOB + "status = 'COMPLETED', step = ?, last_loss = COALESCE(?, last_loss) WHERE job_id = ?",
                    (at, steps, loss, key),
                )
            case JobCancelled():
                cursor.execute(_JOB + "status = 'CANCELLED' WHERE job_id = ?", (at, key))
            case DatasetRegistered():
                cursor.execute(
                    "INSERT OR REPLACE INTO datasets (dataset_id, name, file_format, size_bytes, registered_at, owner) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (key, event.name, event.file_format, event.size_bytes, at, event.owner),
                )
            case DatasetValidated():
                cursor.execute(
                    "UPDATE datasets SET valid = ?, rows = ?, data_format = ? WHERE dataset_id = ?",
                    (event.valid, event.rows, event.data_format, key),
                )
            case BaseModelRegistered():
                cursor.execute(
                    "INSERT OR REPLACE INTO base_models VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (event.name, event.architecture, event.parameters, event.size_bytes, at, event.uri, event.sha256),
                )
            case ApiKeyCreated():
                cursor.execute(
                    "INSERT OR REPLACE INTO api_keys VALUES (?, ?, ?, ?, ?, ?, 0)",
                    (key, event.key_id, event.name, event.role, event.tenant, event.secret_sha256),
                )
            case ApiKeyRevoked():
                cursor.execute("UPDATE api_keys SET revoked = 1 WHERE aggregate_id = ?", (key,))

    def jobs(self, limit: int, offset: int = 0, actor: Actor = OPERATOR) -> list[JobRow]:
        """A page of the jobs `actor` sees, newest first: status, progress, last loss, throughput,
        energy and CO2 so far."""
        where, params = _owned_by(actor)
        rows = self.query(
            f"SELECT jobs.*, energy_kwh, emissions_g FROM jobs LEFT JOIN job_energy USING (job_id) {where} "
            "ORDER BY created_at DESC, job_id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_job_row(row) for row in rows]

    def datasets(self, limit: int, offset: int = 0, actor: Actor = OPERATOR) -> list[DatasetRow]:
        where, params = _owned_by(actor)
        rows = self.query(
            f"SELECT * FROM datasets {where} ORDER BY registered_at DESC, dataset_id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [DatasetRow.model_validate(row) for row in rows]

    def base_models(self) -> list[BaseModelRow]:
        return [BaseModelRow.model_validate(row) for row in self.query("SELECT * FROM base_models ORDER BY name")]

    def status_counts(self) -> dict[str, int]:
        """Jobs per status, every tenant's."""
        return {
            str(r["status"]): int(str(r["n"]))
            for r in self.query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
        }

    def job_energies(self) -> list[tuple[str, float, float]]:
        """(job id, kWh, gCO2eq) measured so far for each job."""
        rows = self.query("SELECT job_id, energy_kwh, emissions_g FROM job_energy")
        return [(str(r["job_id"]), float(str(r["energy_kwh"])), float(str(r["emissions_g"]))) for r in rows]

    def count(self, table: str, actor: Actor = OPERATOR) -> int:
        assert table in ("jobs", "datasets"), table
        where, params = _owned_by(actor)
        [row] = self.query(f"SELECT COUNT(*) AS n FROM {table} {where}", params)
        return int(str(row["n"]))


def _owned_by(actor: Actor) -> tuple[str, tuple[str, ...]]:
    """The WHERE clause keeping the rows `actor` sees (services/runtime/access.py's rule)."""
    if access.sees_all(actor):
        return "", ()
    return ("WHERE owner = ?", (actor.tenant,)) if actor.tenant else ("WHERE 0", ())


def _job_row(row: dict[str, Any]) -> JobRow:
    category, message = row.pop("failure_category"), row.pop("failure_message")
    failure = JobFailure(category=category, message=message) if category is not None else None
    return JobRow.model_validate({**row, "failure": failure})
