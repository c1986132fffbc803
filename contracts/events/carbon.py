"""Energy and emissions measurements. Every figure says how it was measured."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import DomainEvent, ValueObject

PowerMethod = Literal["rapl", "nvml", "tdp_estimate", "cpu_load_estimate", "constant_estimate", "none"]


class ComponentEnergy(ValueObject):
    """Energy of one hardware component over the measured interval."""

    energy_kwh: float = Field(ge=0, description="Energy used in the interval, kWh.")
    power_w: float = Field(ge=0, description="Mean power over the interval, W.")
    method: PowerMethod = Field(
        description="How it was measured: `rapl`/`nvml` are readings, the `*_estimate` values are models, "
        "`none` means the component is absent."
    )
    detail: str | None = Field(None, description="Extra words on the method, e.g. `TDP fallback 8 W`.")


class EmissionsMeasured(DomainEvent):
    """Energy and CO2 of a job or an engine over one interval (or, when `final`, the closing interval)."""

    aggregate_type: ClassVar[str] = "job"
    type: Literal["EmissionsMeasured"] = Field("EmissionsMeasured", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    sequence: int = Field(ge=1, description="1, 2, 3... per measured subject; gaps mean a lost interval.")
    final: bool = Field(description="True for the last interval of the subject's run.")
    duration_seconds: float = Field(ge=0, description="Length of the interval, seconds.")
    cpu: ComponentEnergy = Field(description="CPU energy.")
    gpu: ComponentEnergy = Field(description="GPU energy (method `none` without a GPU).")
    ram: ComponentEnergy = Field(description="Memory energy.")
    energy_kwh: float = Field(ge=0, description="Total energy in the interval incl. PUE, kWh.")
    emissions_g: float = Field(ge=0, description="CO2-equivalent emitted in the interval, grams.")
    carbon_intensity_g_per_kwh: float = Field(ge=0, description="Grid intensity used, gCO2eq/kWh.")
    intensity_source: str = Field(description="Where the intensity came from, e.g. `codecarbon energy mix FRA`.")
    intensity_is_fallback: bool = Field(
        description="True when no region was configured and a world-average default was used."
    )
    country_iso_code: str | None = Field(None, description="ISO 3166-1 alpha-3 country of the grid.")
    region: str | None = Field(None, description="Region within the country, if configured.")
    pue: float = Field(ge=1, description="Power usage effectiveness applied to the energy.")


class EmissionsUnmeasured(DomainEvent):
    """A run of a job (or engine) ended without its final interval, its process killed: from its last
    published interval until the next run started, no meter published anything. The next run publishes
    this as it starts; the gap's energy is in no EmissionsMeasured and in no total."""

    aggregate_type: ClassVar[str] = "job"
    type: Literal["EmissionsUnmeasured"] = Field("EmissionsUnmeasured", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    after_sequence: int = Field(
        ge=1, description="`sequence` of the subject's last EmissionsMeasured before the gap (not `final`)."
    )
    unmeasured_seconds: float = Field(
        ge=0,
        description="Wall time from that interval to the next run's start, seconds: an upper bound on how long "
        "the lost run still worked (it died somewhere in it; the rest is the wait until the next run took over).",
    )


BudgetMetric = Literal["energy_kwh", "emissions_g"]


class _BudgetEvent(DomainEvent):
    # The aggregate id is the API key id the budget applies to.
    aggregate_type: ClassVar[str] = "budget"


class BudgetSet(_BudgetEvent):
    """An API key got an energy or CO2 budget (replacing any earlier one); warnings re-arm."""

    type: Literal["BudgetSet"] = Field("BudgetSet", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    metric: BudgetMetric = Field(description="What is limited: `energy_kwh` (kWh) or `emissions_g` (gCO2eq).")
    limit: float = Field(gt=0, description="The budget, in the metric's unit; usage counts every job and request.")
    warning_fraction: float = Field(
        0.8, gt=0, lt=1, description="Fraction of the limit at which BudgetWarningIssued is published."
    )


class BudgetWarningIssued(_BudgetEvent):
    """An API key's usage crossed the warning fraction of its budget."""

    type: Literal["BudgetWarningIssued"] = Field("BudgetWarningIssued", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    metric: BudgetMetric = Field(description="The budget's metric.")
    used: float = Field(ge=0, description="Usage when the warning was issued, in the metric's unit.")
    limit: float = Field(gt=0, description="The budget, in the metric's unit.")


class BudgetExhausted(_BudgetEvent):
    """An API key used its whole budget: new fine-tuning jobs are refused until it is raised."""

    type: Literal["BudgetExhausted"] = Field("BudgetExhausted", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    metric: BudgetMetric = Field(description="The budget's metric.")
    used: float = Field(ge=0, description="Usage when the budget ran out, in the metric's unit.")
    limit: float = Field(gt=0, description="The budget, in the metric's unit.")
