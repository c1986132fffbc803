"""Forecasts and pre-flight estimates over the read model (the arithmetic is in forecast.py).

A job's forecast is the snapshot taken when it passed 10% of its steps, shown beside the live
forecast (latest progress) and, once the job has finished, its actual totals and the error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.training_config import TrainingConfig
from services.carbon.domain import CarbonError, UnknownSubjectError
from services.carbon.forecast import History, Measured, StepClock, forecast_job, planned_tokens, preflight_estimate
from services.carbon.replies import ActualTotals, EarlyForecast, ForecastPoint, JobForecastReport, PreflightEstimate
from services.carbon.reports import CarbonReports


def job_forecast(reports: CarbonReports, job_id: str) -> JobForecastReport:
    jobs = reports.view.rows("SELECT * FROM jobs WHERE job_id=?", (job_id,))
    if not jobs:
        raise UnknownSubjectError(f"no job {job_id} in the carbon read model")
    job, totals = jobs[0], reports.subject_totals("job", job_id)
    out = JobForecastReport(job_id=job_id, status=job["status"], max_steps=job["max_steps"])
    if job["forecast_step"] is not None:
        out.at_10_percent = EarlyForecast(
            energy_kwh=job["forecast_kwh"],
            emissions_g=job["forecast_g"],
            at_step=job["forecast_step"],
            basis=job["forecast_basis"],
        )
    live = _live(reports, job, totals)
    if live is not None:
        out.live = ForecastPoint(
            energy_kwh=live.energy_kwh, emissions_g=live.emissions_g, at_step=live.at_step, basis=live.basis
        )
    if totals["final_seen"]:
        out.actual = ActualTotals(energy_kwh=totals["energy_kwh"], emissions_g=totals["emissions_g"])
        if out.at_10_percent is not None and job["forecast_kwh"] and totals["energy_kwh"]:
            out.at_10_percent.error = job["forecast_kwh"] / totals["energy_kwh"] - 1.0
    return out


def _live(reports: CarbonReports, job: dict[str, Any], totals: dict[str, Any]) -> Any:
    if job["max_steps"] is None or job["first_step"] is None or not totals["intervals"]:
        return None
    until = reports.view.rows(
        "SELECT MAX(occurred_at) AS t FROM intervals WHERE subject_type='job' AND subject_id=?", (job["job_id"],)
    )[0]["t"]
    measured = Measured(
        totals["energy_kwh"], totals["emissions_g"], totals["duration_s"], datetime.fromisoformat(until).timestamp()
    )
    clock = StepClock(job["first_step"], job["first_step_at"], job["last_step"], job["last_step_at"], job["max_steps"])
    return forecast_job(measured, clock)


def history(reports: CarbonReports, base_model: str) -> History:
    """Energy per trained token of completed, metered jobs: on this base model if any, else on all."""
    sql = (
        "SELECT j.job_id, j.base_model, j.tokens_trained AS t, SUM(i.energy_kwh) AS e, SUM(i.emissions_g) AS g "
        "FROM jobs j JOIN intervals i ON i.subject_type='job' AND i.subject_id = j.job_id "
        "WHERE j.status='completed' AND j.tokens_trained > 0 GROUP BY j.job_id"
    )
    done = reports.view.rows(sql)
    for scope, jobs in (
        (f"base model {base_model}", [j for j in done if j["base_model"] == base_model]),
        ("all completed jobs", done),
    ):
        tokens = sum(j["t"] for j in jobs)
        if jobs and tokens:
            return History(sum(j["e"] for j in jobs) / tokens, sum(j["g"] for j in jobs) / tokens, len(jobs), scope)
    raise CarbonError(
        "no completed job with measured energy yet: a pre-flight estimate needs at least one "
        "(run the demo job: `greentune demo`)"
    )


def preflight(
    reports: CarbonReports, config: TrainingConfig, rows: int | None, mean: float | None
) -> PreflightEstimate:
    if rows is None or mean is None:
        found = reports.view.rows("SELECT * FROM datasets WHERE dataset_id=?", (config.dataset_id,))
        if not found:
            raise CarbonError(
                f"dataset {config.dataset_id} has no token statistics in the carbon read model; validate it "
                "first or pass `rows` and `mean_tokens_per_row`"
            )
        rows, mean = rows or found[0]["rows"], mean or found[0]["mean_tokens"]
    estimate = preflight_estimate(planned_tokens(config, rows, mean), history(reports, config.base_model))
    return PreflightEstimate(**estimate.__dict__)
