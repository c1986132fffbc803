"""The carbon read model: every EmissionsMeasured interval with its methods and intensity source,
plus what reports need from other services' events (job actor, model, steps, tokens; request
energy; dataset token stats; budgets), and the unmeasured gaps killed runs left, each with the
attempt that was running. Fed and rebuilt from the log by the kernel's ProjectionRunner.

A job's forecast is taken once, from what the log held when the job first passed 10% of its steps,
so a rebuilt view holds the same forecast as the live one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from eventsourcing.sqlite import SQLiteCursor

from contracts import Envelope
from contracts.events.carbon import (
    BudgetExhausted,
    BudgetSet,
    BudgetWarningIssued,
    EmissionsMeasured,
    EmissionsUnmeasured,
)
from contracts.events.datasets import DatasetValidated
from contracts.events.inference import InferenceCompleted
from contracts.events.jobs import (
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobRequested,
    JobStarted,
    TrainingProgressed,
)
from contracts.events.models import ModelRegistered
from services.carbon.forecast import FORECAST_AFTER_FRACTION, Measured, StepClock, forecast_job
from services.carbon.view_schema import INTERVAL_COLUMNS, TABLES, interval_row
from services.runtime.views import SQLiteView

# The event types the carbon service reads (ProjectionRunner filter subjects; they must not overlap).
CARBON_FILTERS = (
    "events.*.job.*.EmissionsMeasured",
    "events.*.engine.*.EmissionsMeasured",
    "events.*.job.*.EmissionsUnmeasured",
    "events.*.engine.*.EmissionsUnmeasured",
    "events.*.job.*.JobRequested",
    "events.*.job.*.JobStarted",
    "events.*.job.*.TrainingProgressed",
    "events.*.job.*.JobCompleted",
    "events.*.job.*.JobFailed",
    "events.*.job.*.JobCancelled",
    "events.*.engine.*.InferenceCompleted",
    "events.*.dataset.*.DatasetValidated",
    "events.*.model.*.ModelRegistered",
    "events.*.budget.*.BudgetSet",
    "events.*.budget.*.BudgetWarningIssued",
    "events.*.budget.*.BudgetExhausted",
)
_INSERT_INTERVAL = f"INSERT OR IGNORE INTO intervals VALUES ({','.join('?' * len(INTERVAL_COLUMNS))})"


class CarbonView(SQLiteView):
    name = "carbon"
    tables: ClassVar[dict[str, str]] = TABLES

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        """`query` with rows typed for the reports (SQLite values: str, int, float or None)."""
        return [dict(row) for row in self.query(sql, params)]

    def export_done(self, job_id: str) -> None:
        """The job's emissions.csv is stored (a rebuild exports it again: same content, same key)."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute("DELETE FROM csv_pending WHERE job_id=?", (job_id,))

    def project(self, cursor: SQLiteCursor, envelope: Envelope, position: int) -> None:
        key, at, seq = envelope.aggregate_id, envelope.occurred_at.isoformat(), position
        match envelope.event:
            case EmissionsMeasured() as event:
                cursor.execute(_INSERT_INTERVAL, interval_row(seq, envelope, event))
                if envelope.aggregate_type == "job" and event.final:
                    cursor.execute("INSERT OR IGNORE INTO csv_pending VALUES (?)", (key,))
            case JobRequested(config=config, name=name):
                cursor.execute(
                    "INSERT OR REPLACE INTO jobs (job_id, actor_kind, actor_id, name, base_model, dataset_id, "
                    "config_json, requested_at, status) VALUES (?,?,?,?,?,?,?,?,'requested')",
                    (
                        key,
                        envelope.actor.kind,
                        envelope.actor.id,
                        name,
                        config.base_model,
                        config.dataset_id,
                        config.model_dump_json(),
                        at,
                    ),
                )
            case EmissionsUnmeasured() as event:
                _unmeasured(cursor, envelope.aggregate_type, key, event)
            case JobStarted(max_steps=max_steps, attempt=attempt, worker_id=worker_id):
                cursor.execute(
                    "UPDATE jobs SET status='running', max_steps=?, started_at=COALESCE(started_at, ?) WHERE job_id=?",
                    (max_steps, at, key),
                )
                cursor.execute("INSERT OR IGNORE INTO attempts VALUES (?,?,?,?)", (key, attempt, worker_id, at))
            case TrainingProgressed() as event:
                _progress(cursor, key, event, envelope.occurred_at.timestamp())
            case JobCompleted(tokens_trained=tokens):
                cursor.execute(
                    "UPDATE jobs SET status='completed', tokens_trained=?, completed_at=? WHERE job_id=?",
                    (tokens, at, key),
                )
            case JobFailed() | JobCancelled():
                status = "failed" if isinstance(envelope.event, JobFailed) else "cancelled"
                cursor.execute("UPDATE jobs SET status=?, completed_at=? WHERE job_id=?", (status, at, key))
            case InferenceCompleted() as event:
                cursor.execute(
                    "INSERT OR IGNORE INTO requests VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        seq,
                        key,
                        event.request_id,
                        event.model,
                        envelope.actor.kind,
                        envelope.actor.id,
                        at[:10],
                        event.prompt_tokens,
                        event.completion_tokens,
                        event.energy_kwh,
                    ),
                )
            case DatasetValidated(rows=rows, token_stats=stats) if stats is not None:
                cursor.execute("INSERT OR REPLACE INTO datasets VALUES (?,?,?)", (key, rows, stats.mean))
            case ModelRegistered(job_id=job_id, name=model_name):
                cursor.execute("UPDATE jobs SET model_name=? WHERE job_id=?", (model_name, job_id))
            case BudgetSet() | BudgetWarningIssued() | BudgetExhausted() as event:
                _budget(cursor, key, event, seq)


def _unmeasured(cursor: SQLiteCursor, subject_type: str, subject_id: str, event: EmissionsUnmeasured) -> None:
    """The gap belongs to the job's latest attempt so far: its successor publishes the gap before its
    own JobStarted. A gap found again (that successor died too, before any interval) grows and
    counts the successor in; it keeps its first attempt."""
    cursor.execute("SELECT MAX(attempt) AS attempt FROM attempts WHERE job_id=?", (subject_id,))
    attempt = cursor.fetchone()["attempt"] if subject_type == "job" else None
    cursor.execute(
        "INSERT INTO unmeasured VALUES (?,?,?,?,?,?) ON CONFLICT (subject_type, subject_id, after_sequence) "
        "DO UPDATE SET seconds=MAX(seconds, excluded.seconds), last_attempt=excluded.last_attempt",
        (subject_type, subject_id, event.after_sequence, event.unmeasured_seconds, attempt, attempt),
    )


def _progress(cursor: SQLiteCursor, job_id: str, event: TrainingProgressed, at: float) -> None:
    cursor.execute(
        "UPDATE jobs SET max_steps=COALESCE(?, max_steps), first_step=COALESCE(first_step, ?), "
        "first_step_at=COALESCE(first_step_at, ?), last_step=?, last_step_at=?, "
        "tokens_seen=COALESCE(?, tokens_seen) WHERE job_id=?",
        (event.max_steps, event.step, at, event.step, at, event.tokens_seen, job_id),
    )
    cursor.execute("INSERT OR REPLACE INTO progress VALUES (?,?,?,?)", (job_id, event.step, event.loss, at))
    cursor.execute("SELECT first_step, first_step_at, max_steps, forecast_step FROM jobs WHERE job_id=?", (job_id,))
    job = cursor.fetchone()
    if job is None or job["max_steps"] is None or job["forecast_step"] is not None:
        return
    if event.step < FORECAST_AFTER_FRACTION * job["max_steps"]:
        return
    clock = StepClock(job["first_step"], job["first_step_at"], event.step, at, job["max_steps"])
    forecast = forecast_job(_measured(cursor, job_id), clock)
    if forecast is not None:
        cursor.execute(
            "UPDATE jobs SET forecast_kwh=?, forecast_g=?, forecast_step=?, forecast_basis=? WHERE job_id=?",
            (forecast.energy_kwh, forecast.emissions_g, forecast.at_step, forecast.basis, job_id),
        )


def _measured(cursor: SQLiteCursor, job_id: str) -> Measured:
    cursor.execute(
        "SELECT COALESCE(SUM(energy_kwh), 0) AS e, COALESCE(SUM(emissions_g), 0) AS g, "
        "COALESCE(SUM(duration_s), 0) AS s, MAX(occurred_at) AS until FROM intervals "
        "WHERE subject_type='job' AND subject_id=?",
        (job_id,),
    )
    row = cursor.fetchone()
    until = datetime.fromisoformat(row["until"]).timestamp() if row["until"] else 0.0
    return Measured(row["e"], row["g"], row["s"], until)


def _budget(
    cursor: SQLiteCursor, api_key: str, event: BudgetSet | BudgetWarningIssued | BudgetExhausted, seq: int
) -> None:
    if isinstance(event, BudgetSet):
        cursor.execute(
            "INSERT OR REPLACE INTO budgets VALUES (?,?,?,?,0,0,?)",
            (api_key, event.metric, event.limit, event.warning_fraction, seq),
        )
    else:
        column = "warned" if isinstance(event, BudgetWarningIssued) else "exhausted"
        cursor.execute(f"UPDATE budgets SET {column}=1, last_seq=? WHERE api_key=?", (seq, api_key))
