"""How the trainer and the inference host plug the carbon meter in (they wire it; nothing here
imports their code). One CodeCarbon meter per process, shared by every reporter and splitter.

Trainer (its JobEnergy port):
    energy = JobEnergyReporter.for_process(nc)                  # at worker start: probes the hardware once
    async with energy.measuring(job_id, actor):                 # EmissionsMeasured every 10 s + final
        ...run the job...

Inference host (services/inference/app.py; its accounting splits the same meter's energy by tokens):
    meter = process_meter()
    reporter = engine_reporter(nc, meter); await reporter.start(MeteredSubject.engine(engine_id))
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

from nats.aio.client import Client

from contracts import Actor
from services.carbon.config import CarbonSettings
from services.carbon.domain import MeteredSubject
from services.carbon.ports import GridIntensity
from services.carbon.reporter import EmissionsLog, EmissionsReporter
from services.runtime.energy import EnergyMeter


@functools.cache
def process_meter(tracking_mode: str = "machine") -> EnergyMeter:
    """This process's CodeCarbon meter, started (the first call costs ~1.5 s of hardware probing)."""
    from services.carbon.adapters.codecarbon_meter import CodeCarbonMeter

    meter = CodeCarbonMeter(tracking_mode=tracking_mode)
    meter.start()
    return meter


def grid_for(settings: CarbonSettings) -> GridIntensity:
    from services.carbon.adapters.codecarbon_grid import CodeCarbonGrid

    return CodeCarbonGrid(settings.country_iso_code, settings.region)


def emissions_log(nc: Client) -> EmissionsLog:
    from services.carbon.adapters.emissions_log import JetStreamEmissionsLog

    return JetStreamEmissionsLog(nc)


def engine_reporter(nc: Client, meter: EnergyMeter, settings: CarbonSettings | None = None) -> EmissionsReporter:
    settings = settings or CarbonSettings()
    return EmissionsReporter(
        emissions_log(nc), meter, grid_for(settings), pue=settings.pue, interval_seconds=settings.interval_seconds
    )


class JobEnergyReporter:
    """Measures one job at a time (the trainer's JobEnergy port): `measuring(job_id, actor)`."""

    def __init__(self, events: EmissionsLog, meter: EnergyMeter, grid: GridIntensity, settings: CarbonSettings):
        self.events, self.meter, self.grid, self.settings = events, meter, grid, settings

    @classmethod
    def for_process(cls, nc: Client, settings: CarbonSettings | None = None) -> JobEnergyReporter:
        settings = settings or CarbonSettings()
        return cls(emissions_log(nc), process_meter(settings.tracking_mode), grid_for(settings), settings)

    @contextlib.asynccontextmanager
    async def measuring(
        self, job_id: str, actor: Actor, correlation_id: str | None = None
    ) -> AsyncIterator[EmissionsReporter]:
        reporter = EmissionsReporter(
            self.events, self.meter, self.grid, pue=self.settings.pue, interval_seconds=self.settings.interval_seconds
        )
        async with reporter.measuring(MeteredSubject.job(job_id, actor, correlation_id)):
            yield reporter
