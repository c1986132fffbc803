"""Forecasts, pure: a running job's total energy and CO2 from its first steps, and a pre-flight
estimate from a job's configuration and the energy per token of earlier jobs.

Running job: the energy measured so far plus the mean power so far times the time still to go,
where the time to go comes from the step rate between the first and the latest progress events.
Setup before the first step is measured, not extrapolated, so it is not multiplied by 10.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.training_config import TrainingConfig
from services.carbon.domain import KWH_IN_JOULES

FORECAST_AFTER_FRACTION = 0.10  # of max_steps: the "after its first 10% of steps"


@dataclass(frozen=True)
class Measured:
    """A subject's metered totals so far (sums of its EmissionsMeasured)."""

    energy_kwh: float  # incl. PUE
    emissions_g: float
    seconds: float  # metered duration
    until: float  # epoch seconds at the end of the last interval


@dataclass(frozen=True)
class StepClock:
    """Two progress points of a job: the first one seen and the latest."""

    first_step: int
    first_at: float  # epoch seconds
    step: int
    at: float  # epoch seconds
    max_steps: int


@dataclass(frozen=True)
class JobForecast:
    energy_kwh: float
    emissions_g: float
    at_step: int
    max_steps: int
    basis: str


def forecast_job(measured: Measured, clock: StepClock) -> JobForecast | None:
    """None until there is a metered interval and the step rate is known."""
    if measured.seconds <= 0 or clock.step <= clock.first_step or clock.at <= clock.first_at:
        return None
    steps_per_second = (clock.step - clock.first_step) / (clock.at - clock.first_at)
    to_go = max(clock.at - measured.until, 0.0) + (clock.max_steps - clock.step) / steps_per_second  # seconds
    power_w = measured.energy_kwh * KWH_IN_JOULES / measured.seconds
    energy = measured.energy_kwh + power_w * to_go / KWH_IN_JOULES
    intensity = measured.emissions_g / measured.energy_kwh if measured.energy_kwh > 0 else 0.0  # gCO2eq/kWh
    basis = (
        f"{measured.energy_kwh:.3g} kWh metered, mean {power_w:.3g} W, "
        f"{steps_per_second:.3g} steps/s over steps {clock.first_step}-{clock.step} of {clock.max_steps}"
    )
    return JobForecast(energy, energy * intensity, clock.step, clock.max_steps, basis)


@dataclass(frozen=True)
class History:
    """Energy per trained token of earlier completed jobs."""

    kwh_per_token: float
    g_per_token: float
    jobs: int
    scope: str  # which jobs: "base model X" or "all jobs"


@dataclass(frozen=True)
class Estimate:
    energy_kwh: float
    emissions_g: float
    planned_tokens: int
    basis: str


def planned_tokens(config: TrainingConfig, rows: int, mean_tokens_per_row: float) -> int:
    """Tokens the job will train on: its steps x rows per step, or its epochs over the training split."""
    row_tokens = min(mean_tokens_per_row, config.max_seq_length)  # longer rows are truncated
    if config.max_steps is not None:
        return round(config.max_steps * config.batch_size * config.gradient_accumulation_steps * row_tokens)
    return round((config.epochs or 1.0) * rows * (1.0 - config.eval_split) * row_tokens)


def preflight_estimate(tokens: int, history: History) -> Estimate:
    basis = (
        f"{tokens} planned tokens x {history.kwh_per_token * 1000:.3g} kWh per 1k tokens, "
        f"measured on {history.jobs} completed job(s) ({history.scope})"
    )
    return Estimate(tokens * history.kwh_per_token, tokens * history.g_per_token, tokens, basis)
