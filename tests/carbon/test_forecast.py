"""Forecasts: the one made after 10% of the demo job's steps lands within 25% of the job's final
kWh (a real Unsloth fine-tune, metered by CodeCarbon); the arithmetic and the pre-flight estimate."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from uuid import uuid4

import pytest

from contracts.training_config import TrainingConfig
from services.carbon.app import CarbonService
from services.carbon.domain import CarbonError
from services.carbon.forecast import History, Measured, StepClock, forecast_job, planned_tokens, preflight_estimate
from services.carbon.queries import EstimateQuery, JobQuery


@pytest.mark.slow
async def test_the_forecast_at_10_percent_of_the_demo_jobs_steps_is_within_25_percent(
    nats_server, nc, carbon: CarbonService, tiny_model_dir, tmp_path
):
    job_id = str(uuid4())
    command = [
        sys.executable,
        "-m",
        "tests.carbon.metered_training",
        nats_server.url,
        job_id,
        str(tiny_model_dir),
        str(tmp_path / "work"),
        "1.0",
    ]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    await carbon.catch_up()

    forecast = carbon.handlers.forecast(JobQuery(job_id=job_id))
    early, actual = forecast.at_10_percent, forecast.actual
    assert early is not None and actual is not None and early.error is not None and forecast.max_steps
    print(
        f"\ndemo job {job_id}: forecast at step {early.at_step}/{forecast.max_steps}: "
        f"{early.energy_kwh:.6g} kWh ({early.basis}); final {actual.energy_kwh:.6g} kWh; "
        f"error {early.error:+.1%}"
    )
    assert early.at_step >= 0.1 * forecast.max_steps
    drift = speed_change(carbon, job_id, early.at_step)
    print(f"step rate after the forecast vs before it: {drift:+.1%}")
    if abs(early.error) > 0.25 and abs(drift) > 0.25:
        pytest.xfail(
            f"this VM's speed changed by {drift:+.0%} after the forecast (other work on the machine); "
            "a forecast from the first 10% cannot see that: rerun on a quiet machine"
        )
    assert abs(early.error) <= 0.25
    report = carbon.handlers.job(JobQuery(job_id=job_id))
    assert report.status == "completed" and (report.g_per_1k_trained_tokens or 0) > 0
    assert report.forecast.actual is not None  # `job` carries the forecast too
    # with this job on record, a pre-flight estimate of the same job is possible
    config = TrainingConfig.model_validate_json(
        carbon.view.rows("SELECT config_json FROM jobs WHERE job_id=?", (job_id,))[0]["config_json"]
    )
    estimate = carbon.handlers.estimate(EstimateQuery(config=config, rows=200, mean_tokens_per_row=16))
    assert estimate.energy_kwh > 0 and "1 completed job(s)" in estimate.basis
    recommendations = carbon.handlers.recommendations(JobQuery(job_id=job_id))
    print("recommendations:", [(r.title, round(r.saving_kwh, 9)) for r in recommendations])
    assert all(r.saving_kwh >= 0 and r.saving_g >= 0 for r in recommendations)


def speed_change(carbon: CarbonService, job_id: str, at_step: int) -> float:
    """Steps/s after `at_step` relative to steps/s before it (0.0: the machine kept its speed)."""
    rows = carbon.view.rows("SELECT step, at FROM progress WHERE job_id=? ORDER BY step", (job_id,))
    at = {row["step"]: row["at"] for row in rows}
    first, last = rows[0]["step"], rows[-1]["step"]
    before = (at_step - first) / (at[at_step] - at[first])
    after = (last - at_step) / (at[last] - at[at_step])
    return float(after / before - 1.0)


def test_the_forecast_adds_measured_energy_to_mean_power_times_the_time_still_to_go():
    # 100 J measured over 10 s (10 W); steps 1-11 took 5 s (2 steps/s); 89 steps to go = 44.5 s
    measured = Measured(energy_kwh=100 / 3.6e6, emissions_g=100 / 3.6e6 * 50, seconds=10.0, until=1010.0)
    clock = StepClock(first_step=1, first_at=1005.0, step=11, at=1010.0, max_steps=100)

    forecast = forecast_job(measured, clock)

    assert forecast is not None
    assert forecast.energy_kwh * 3.6e6 == pytest.approx(100 + 10 * 44.5)
    assert forecast.emissions_g == pytest.approx(forecast.energy_kwh * 50)
    assert forecast_job(measured, StepClock(1, 1005.0, 1, 1005.0, 100)) is None, "no step rate yet"


def test_planned_tokens_follow_steps_or_epochs_and_truncation():
    by_steps = TrainingConfig(base_model="m", dataset_id="d", max_steps=10, batch_size=4, gradient_accumulation_steps=2)
    by_epochs = TrainingConfig(base_model="m", dataset_id="d", epochs=2, max_seq_length=32, eval_split=0.5)
    assert planned_tokens(by_steps, rows=1000, mean_tokens_per_row=20) == 10 * 8 * 20
    assert planned_tokens(by_epochs, rows=100, mean_tokens_per_row=50) == 2 * 50 * 32
    estimate = preflight_estimate(1000, History(kwh_per_token=1e-6, g_per_token=5e-5, jobs=2, scope="all"))
    assert estimate.energy_kwh == pytest.approx(1e-3) and estimate.emissions_g == pytest.approx(0.05)


async def test_a_preflight_estimate_without_any_history_says_what_is_missing(carbon: CarbonService):
    config = TrainingConfig(base_model="m", dataset_id="unknown-ds")
    with pytest.raises(CarbonError, match="dataset unknown-ds has no token statistics"):
        carbon.handlers.estimate(EstimateQuery(config=config))
    with pytest.raises(CarbonError, match="no completed job with measured energy"):
        carbon.handlers.estimate(EstimateQuery(config=config, rows=10, mean_tokens_per_row=5))
