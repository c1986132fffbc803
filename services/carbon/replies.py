"""What each carbon query answers (the `result` of an `rpc.carbon.<name>` reply): one pydantic model
per reply shape, shared by the service, its clients (services/carbon/client.py), the API and the CLI.

Energies are kWh and include the PUE; emissions are grams of CO2-equivalent (gCO2eq). A key that a
report only has in some cases (a forecast not made yet, a group with no serving) is left out of the
JSON rather than sent as null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from contracts.events.carbon import BudgetMetric

JobState = Literal["requested", "running", "completed", "failed", "cancelled"]


def _absent(value: Any) -> bool:
    return value is None


def _optional(description: str) -> Any:
    """A field left out of the JSON when None (the report had no such figure)."""
    return Field(None, description=description, exclude_if=_absent)


# How a footprint was measured


class IntensityUsed(BaseModel):
    """One grid intensity behind a footprint, with where it came from."""

    g_per_kwh: float = Field(description="gCO2eq per kWh.")
    source: str = Field(description="Where the intensity came from, e.g. `CodeCarbon energy mix FRA`.")
    is_fallback: bool = Field(description="The world average, used when no country is configured.")
    country_iso_code: str | None = None
    region: str | None = None
    pue: float = Field(description="Power usage effectiveness applied to the energy.")


class HowMeasured(BaseModel):
    """Each component's metering method and the grid intensities behind a footprint."""

    cpu: list[str] = Field(description="`method: detail` of each way the CPU was metered.")
    gpu: list[str] = Field(description="`method: detail` of each way the GPU was metered.")
    ram: list[str] = Field(description="`method: detail` of each way the RAM was metered.")
    intensity: list[IntensityUsed]


class UnmeasuredGap(BaseModel):
    """Time an attempt killed before its final measurement left unmeasured (in no total)."""

    attempt: int | None = Field(None, description="The first attempt that ended in the gap.")
    last_attempt: int | None = Field(None, description="The last attempt that ended in the gap.")
    after_sequence: int | None = Field(None, description="The interval the gap follows; None: before any.")
    seconds: float | None = Field(None, description="Unmeasured seconds; None when unknown.")
    note: str = Field(description="The gap in words.")


class MeteredTotals(BaseModel):
    """The sums of a job's or engine's measured intervals, with how they were measured."""

    intervals: int = Field(description="Measured intervals summed.")
    energy_kwh: float
    emissions_g: float = Field(description="gCO2eq.")
    duration_s: float = Field(description="Metered seconds.")
    cpu_kwh: float
    gpu_kwh: float
    ram_kwh: float
    last_sequence: int | None = Field(None, description="The highest interval number received.")
    final_seen: bool = Field(description="The last measurement arrived: the totals are final.")
    intensity_fallback: bool = Field(description="Some interval used a fallback grid intensity.")
    how_measured: HowMeasured
    missing_sequences: list[int] = Field(description="Interval numbers not (yet) received.")
    unmeasured: list[UnmeasuredGap] = Field(default_factory=list, description="Time killed runs left unmeasured.")
    lost_intervals: int = Field(0, description="How many gaps `unmeasured` lists.")
    unmeasured_seconds: float = Field(0.0, description="Known unmeasured seconds (in no total).")


# Jobs


class JobRow(BaseModel):
    """A job as the carbon read model follows it (from the trainer's events)."""

    job_id: str
    actor_kind: Literal["api_key", "cli", "system"] | None = Field(None, description="Who requested the job.")
    actor_id: str | None = None
    name: str | None = None
    base_model: str | None = None
    dataset_id: str | None = None
    requested_at: datetime | None = None
    started_at: datetime | None = None
    status: JobState | None = None
    max_steps: int | None = None
    first_step: int | None = Field(None, description="The first training step seen.")
    first_step_at: float | None = Field(None, description="When it was logged, epoch seconds.")
    last_step: int | None = Field(None, description="The latest training step seen.")
    last_step_at: float | None = Field(None, description="When it was logged, epoch seconds.")
    tokens_seen: int | None = None
    tokens_trained: int | None = None
    completed_at: datetime | None = Field(None, description="When it ended (completed, failed or cancelled).")
    model_name: str | None = Field(None, description="The registry's model of its export.")
    forecast_kwh: float | None = Field(None, description="The forecast made at 10% of its steps.")
    forecast_g: float | None = None
    forecast_step: int | None = Field(None, description="The step that forecast was made at.")
    forecast_basis: str | None = None


class JobReport(MeteredTotals, JobRow):  # JobRow's fields first, then the totals
    """`jobs`: a job's energy and CO2 (the sums of its measured intervals) beside its row."""

    g_per_1k_trained_tokens: float | None = Field(None, description="gCO2eq per 1000 trained tokens.")
    kwh_per_1k_trained_tokens: float | None = None


class ForecastPoint(BaseModel):
    """A forecast of a job's totals by its last step."""

    energy_kwh: float
    emissions_g: float
    at_step: int = Field(description="The step it was made at.")
    basis: str = Field(description="What it was computed from.")


class EarlyForecast(ForecastPoint):
    """The forecast made when the job passed 10% of its steps."""

    error: float | None = _optional("forecast / actual - 1, once the job has finished.")


class ActualTotals(BaseModel):
    energy_kwh: float
    emissions_g: float


class JobForecastReport(BaseModel):
    """`forecast`: what a job will use by its end, against what it used once finished."""

    job_id: str
    status: JobState | None
    max_steps: int | None
    at_10_percent: EarlyForecast | None = _optional("Made at 10% of its steps; absent before.")
    live: ForecastPoint | None = _optional("From its latest progress; absent until the step rate is known.")
    actual: ActualTotals | None = _optional("Its totals, once its final measurement arrived.")


class JobFootprint(JobReport):
    """`job`: a job's energy and CO2 (the sums of its measured intervals) with how each figure was
    measured, beside the job's row in the carbon read model (name, status, tokens...) and its forecast."""

    forecast: JobForecastReport


# Engines


class EngineReport(MeteredTotals):
    """`engine`: an inference engine's metered energy against the sum of its requests' shares."""

    engine_id: str
    requests: int = Field(description="Requests it answered.")
    attributed_kwh: float | None = Field(description="The sum of its requests' energy shares.")
    generated: int | None = Field(description="Completion tokens generated.")
    prompt: int | None = Field(description="Prompt tokens read.")
    g_per_1k_generated_tokens: float | None = Field(description="gCO2eq per 1000 generated tokens.")


# Totals per day, API key, model


class UsageTotals(BaseModel):
    """Training (the intervals of jobs) and serving (the requests' shares) of one group."""

    training_kwh: float
    training_g: float
    serving_kwh: float | None
    serving_g: float | None = Field(description="Serving energy x its engines' intensity; None when unknown.")
    requests: int | None = Field(None, description="Requests served; this and the next two: absent when none.")
    generated_tokens: int | None = Field(None, description="Completion tokens generated.")
    serving_g_per_1k_generated_tokens: float | None = Field(None, description="None when serving_g is unknown.")
    total_kwh: float = Field(description="Training and serving.")
    total_g: float = Field(description="Training and serving.")

    @model_serializer(mode="wrap")
    def _served_figures_only_when_served(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.requests is None:
            for key in _SERVED:
                data.pop(key, None)
        return data


_SERVED = ("requests", "generated_tokens", "serving_g_per_1k_generated_tokens")


class DayUsage(UsageTotals):
    """`days`: one UTC day's energy and CO2."""

    day: str = Field(description="YYYY-MM-DD, UTC.")


class ApiKeyUsage(UsageTotals):
    """`api_keys`: an API key's energy and CO2 (its jobs, its requests)."""

    api_key: str


class ModelUsage(UsageTotals):
    """`models`: a model's energy and CO2 (jobs trained into it or on it, requests it served)."""

    model: str | None = Field(description="The registry's model name, else the base model; None when unknown.")


# Estimates, advice, exports


class PreflightEstimate(BaseModel):
    """`estimate`: what a job configuration would use, from earlier jobs' energy per token."""

    energy_kwh: float
    emissions_g: float
    planned_tokens: int = Field(description="Tokens the job would train on.")
    basis: str = Field(description="What the estimate was computed from.")


class Recommendation(BaseModel):
    """`recommendations`: one way a job could have used less, with what it would have saved."""

    title: str
    detail: str
    saving_kwh: float
    saving_g: float


class ModelCardCo2(BaseModel):
    """`model_card`: the `co2_eq_emissions` block of a Hugging Face model card."""

    emissions: float = Field(description="gCO2eq of the training job.")
    source: str = Field(description="The meter and the intensity sources.")
    training_type: str
    geographical_location: str
    hardware_used: str = Field(description="Each component's metering methods.")
    energy_kwh: float
    intensity_is_fallback: bool


# Budgets


class BudgetUsage(BaseModel):
    """`budgets`: an API key's budget and what it has used."""

    api_key: str
    metric: BudgetMetric
    limit: float = Field(description="In the metric's unit.")
    warning_fraction: float
    warned: bool = Field(description="BudgetWarningIssued published since the last BudgetSet.")
    exhausted: bool = Field(description="BudgetExhausted published since the last BudgetSet.")
    energy_kwh: float = Field(description="Used: training and serving.")
    emissions_g: float = Field(description="Used: training and serving.")


class BudgetVerdict(BaseModel):
    """`budget.check`: whether an API key may start a new job."""

    allowed: bool
    message: str = Field(description="Why, in words.")
    api_key: str
    metric: BudgetMetric | None = Field(None, description="None when the key has no budget.")
    used: float | None = None
    limit: float | None = None
    fraction_used: float | None = Field(None, description="used / limit.")


class BudgetAccepted(BaseModel):
    """`budget.set`: the BudgetSet event was appended."""

    api_key: str
    metric: BudgetMetric
    limit: float
    stream_sequence: int = Field(description="The event's sequence in the stream.")
