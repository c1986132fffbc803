"""Pure carbon accounting: the service's errors, the grid intensity value object, and how two
cumulative meter readings become one EmissionsMeasured interval. No I/O here.

PUE is applied here, once: meters report machine energy (EnergyReading is before PUE), the event's
`energy_kwh` and `emissions_g` include it, its per-component figures do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts import Actor
from contracts.events.carbon import ComponentEnergy, EmissionsMeasured
from services.runtime.energy import ComponentReading, EnergyReading
from services.runtime.problems import ServiceError

KWH_IN_JOULES = 3.6e6  # J per kWh
PRODUCER = "carbon"  # publishes directly (no outbox relay fences `events.carbon.>`)


class CarbonError(ServiceError):
    """Base of the carbon service's errors."""


class MeterUnavailableError(CarbonError):
    """The energy meter could not start or read (CodeCarbon failed, unsupported hardware)."""

    status = 503


class UnknownGridError(CarbonError):
    """The configured country/region has no carbon-intensity data."""


class BudgetExceededError(CarbonError):
    """The API key used its whole budget; new jobs are refused."""

    status = 403


class UnknownSubjectError(CarbonError):
    """A query named a job, model or engine the read model has never seen."""

    status = 404


@dataclass(frozen=True)
class CarbonIntensity:
    """Grid carbon intensity and where it came from."""

    g_per_kwh: float  # gCO2eq/kWh
    source: str
    is_fallback: bool  # True: no (usable) country configured, world average used
    country_iso_code: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class MeteredSubject:
    """What a reporter measures: a job (aggregate `job`) or an inference engine (aggregate `engine`)."""

    aggregate_type: Literal["job", "engine"]
    aggregate_id: str
    actor: Actor
    correlation_id: str | None = None

    @classmethod
    def job(cls, job_id: str, actor: Actor, correlation_id: str | None = None) -> MeteredSubject:
        return cls("job", job_id, actor, correlation_id)

    @classmethod
    def engine(cls, engine_id: str, actor: Actor | None = None) -> MeteredSubject:
        return cls("engine", engine_id, actor or Actor(kind="system", id="inference"))


def _component(before: ComponentReading, after: ComponentReading, seconds: float) -> ComponentEnergy:
    energy = max(after.energy_kwh - before.energy_kwh, 0.0)  # kWh; counters never run backwards
    power = energy * KWH_IN_JOULES / seconds if seconds > 0 else 0.0  # W
    return ComponentEnergy(energy_kwh=energy, power_w=power, method=after.method, detail=after.detail)


def interval_event(
    before: EnergyReading,
    after: EnergyReading,
    *,
    sequence: int,
    final: bool,
    intensity: CarbonIntensity,
    pue: float,
) -> EmissionsMeasured:
    """The interval between two cumulative readings of the same meter, as an event."""
    seconds = max(after.duration_seconds - before.duration_seconds, 0.0)
    cpu = _component(before.cpu, after.cpu, seconds)
    gpu = _component(before.gpu, after.gpu, seconds)
    ram = _component(before.ram, after.ram, seconds)
    energy = (cpu.energy_kwh + gpu.energy_kwh + ram.energy_kwh) * pue  # kWh at the meter x PUE
    return EmissionsMeasured(
        sequence=sequence,
        final=final,
        duration_seconds=seconds,
        cpu=cpu,
        gpu=gpu,
        ram=ram,
        energy_kwh=energy,
        emissions_g=energy * intensity.g_per_kwh,
        carbon_intensity_g_per_kwh=intensity.g_per_kwh,
        intensity_source=intensity.source,
        intensity_is_fallback=intensity.is_fallback,
        country_iso_code=intensity.country_iso_code,
        region=intensity.region,
        pue=pue,
    )
