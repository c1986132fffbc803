"""Tables of the carbon read model, and the row an EmissionsMeasured interval becomes."""

from __future__ import annotations

from contracts import Envelope
from contracts.events.carbon import EmissionsMeasured

INTERVAL_COLUMNS = (
    "stream_seq",
    "subject_type",
    "subject_id",
    "sequence",
    "final",
    "occurred_at",
    "day",
    "actor_kind",
    "actor_id",
    "duration_s",
    "energy_kwh",
    "emissions_g",
    "cpu_kwh",
    "gpu_kwh",
    "ram_kwh",
    "cpu_w",
    "gpu_w",
    "ram_w",
    "cpu_method",
    "gpu_method",
    "ram_method",
    "cpu_detail",
    "gpu_detail",
    "ram_detail",
    "intensity",
    "intensity_source",
    "intensity_fallback",
    "country",
    "region",
    "pue",
)

TABLES = {
    "intervals": f"CREATE TABLE IF NOT EXISTS intervals ({', '.join(INTERVAL_COLUMNS)}, PRIMARY KEY (stream_seq))",
    "jobs": "CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, actor_kind TEXT, actor_id TEXT, name TEXT, "
    "base_model TEXT, dataset_id TEXT, config_json TEXT, requested_at TEXT, started_at TEXT, status TEXT, "
    "max_steps INTEGER, first_step INTEGER, first_step_at REAL, last_step INTEGER, last_step_at REAL, "
    "tokens_seen INTEGER, tokens_trained INTEGER, completed_at TEXT, model_name TEXT, "
    "forecast_kwh REAL, forecast_g REAL, forecast_step INTEGER, forecast_basis TEXT)",
    "progress": "CREATE TABLE IF NOT EXISTS progress (job_id TEXT, step INTEGER, loss REAL, at REAL, "
    "PRIMARY KEY (job_id, step))",
    "requests": "CREATE TABLE IF NOT EXISTS requests (stream_seq INTEGER PRIMARY KEY, engine_id TEXT, "
    "request_id TEXT, model TEXT, actor_kind TEXT, actor_id TEXT, day TEXT, prompt_tokens INTEGER, "
    "completion_tokens INTEGER, energy_kwh REAL)",
    "datasets": "CREATE TABLE IF NOT EXISTS datasets (dataset_id TEXT PRIMARY KEY, rows INTEGER, mean_tokens REAL)",
    "budgets": "CREATE TABLE IF NOT EXISTS budgets (api_key TEXT PRIMARY KEY, metric TEXT, limit_value REAL, "
    "warning_fraction REAL, warned INTEGER, exhausted INTEGER, last_seq INTEGER)",
    "csv_pending": "CREATE TABLE IF NOT EXISTS csv_pending (job_id TEXT PRIMARY KEY)",
    "attempts": "CREATE TABLE IF NOT EXISTS attempts (job_id TEXT, attempt INTEGER, worker_id TEXT, started_at TEXT, "
    "PRIMARY KEY (job_id, attempt))",
    # One row per gap (the intervals it follows); `attempt`..`last_attempt`: the runs that ended in it.
    "unmeasured": "CREATE TABLE IF NOT EXISTS unmeasured (subject_type TEXT, subject_id TEXT, after_sequence INTEGER, "
    "seconds REAL, attempt INTEGER, last_attempt INTEGER, PRIMARY KEY (subject_type, subject_id, after_sequence))",
}


def interval_row(stream_seq: int, envelope: Envelope, event: EmissionsMeasured) -> tuple[object, ...]:
    at = envelope.occurred_at.isoformat()
    parts = (event.cpu, event.gpu, event.ram)
    return (
        stream_seq,
        envelope.aggregate_type,
        envelope.aggregate_id,
        event.sequence,
        event.final,
        at,
        at[:10],
        envelope.actor.kind,
        envelope.actor.id,
        event.duration_seconds,
        event.energy_kwh,
        event.emissions_g,
        *(p.energy_kwh for p in parts),
        *(p.power_w for p in parts),
        *(p.method for p in parts),
        *(p.detail for p in parts),
        event.carbon_intensity_g_per_kwh,
        event.intensity_source,
        event.intensity_is_fallback,
        event.country_iso_code,
        event.region,
        event.pue,
    )
