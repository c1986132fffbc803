"""Pure carbon arithmetic: intervals telescope to the meter's totals with PUE applied once, and
the token split shares an engine's energy exactly."""

from __future__ import annotations

import itertools

import pytest

from services.carbon.domain import CarbonIntensity, interval_event
from services.carbon.recommendations import plateau
from services.runtime.energy import ComponentReading, EnergyReading

GRID = CarbonIntensity(50.0, "test grid", is_fallback=False, country_iso_code="FRA")


def reading(seconds: float, cpu: float, ram: float) -> EnergyReading:
    return EnergyReading(
        duration_seconds=seconds,
        cpu=ComponentReading(cpu, 0.0, "cpu_load_estimate", "TDP 8 W"),
        gpu=ComponentReading(0.0, 0.0, "none"),
        ram=ComponentReading(ram, 0.0, "constant_estimate"),
    )


def test_intervals_telescope_to_the_meters_totals_with_pue_applied_once():
    readings = [reading(0, 0, 0), reading(10, 1e-5, 5e-5), reading(20, 3e-5, 1e-4), reading(25, 3.5e-5, 1.2e-4)]
    events = [
        interval_event(a, b, sequence=i + 1, final=i == 2, intensity=GRID, pue=1.5)
        for i, (a, b) in enumerate(itertools.pairwise(readings))
    ]

    assert sum(e.energy_kwh for e in events) == pytest.approx(readings[-1].energy_kwh * 1.5)
    assert sum(e.emissions_g for e in events) == pytest.approx(readings[-1].energy_kwh * 1.5 * 50.0)
    assert sum(e.cpu.energy_kwh for e in events) == pytest.approx(3.5e-5), "components stay before PUE"
    assert events[0].ram.power_w == pytest.approx(5e-5 * 3.6e6 / 10)  # W over the interval
    assert events[1].cpu.method == "cpu_load_estimate" and events[1].cpu.detail == "TDP 8 W"
    assert [e.final for e in events] == [False, False, True]


def test_a_loss_plateau_is_worth_the_remaining_steps():
    losses = [(s, max(3.0 - s * 0.1, 0.5)) for s in range(1, 101)]  # flat from step 25 on
    saving = plateau(losses, 100, energy_kwh=1.0, emissions_g=50.0)

    assert saving is not None and saving.saving_kwh == pytest.approx(0.75, abs=0.02)
    assert plateau([(s, 3.0 - s * 0.029) for s in range(1, 101)], 100, 1.0, 50.0) is None, "still improving"
