"""The energy-meter port shared by the trainer, the inference engine host and the carbon service.

A meter measures the energy of this process's machine from `start()` on; readings are cumulative.
Each component says how its figure was obtained (RAPL/NVML readings or an estimate), because on
a VM without RAPL the CPU figure is a load-scaled estimate and RAM a constant model. The
CodeCarbon adapter lives in services/carbon; tests may use any implementation of this protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from contracts.events.carbon import PowerMethod


@dataclass(frozen=True)
class ComponentReading:
    energy_kwh: float  # kWh since start
    power_w: float  # mean W since start
    method: PowerMethod
    detail: str | None = None


@dataclass(frozen=True)
class EnergyReading:
    duration_seconds: float  # since start
    cpu: ComponentReading
    gpu: ComponentReading
    ram: ComponentReading

    @property
    def energy_kwh(self) -> float:
        """Machine energy before PUE, kWh."""
        return self.cpu.energy_kwh + self.gpu.energy_kwh + self.ram.energy_kwh


class EnergyMeter(Protocol):
    def start(self) -> None: ...

    def read(self) -> EnergyReading: ...

    def stop(self) -> EnergyReading: ...
