"""The CodeCarbon meter reads real energy, labels every figure, and the grid intensity says where
it came from; with no country configured the world-average fallback is flagged."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from services.carbon.adapters.codecarbon_grid import CodeCarbonGrid
from services.carbon.adapters.codecarbon_meter import CodeCarbonMeter
from services.carbon.config import CarbonSettings
from services.carbon.domain import MeterUnavailableError, UnknownGridError


def test_readings_are_cumulative_and_every_component_says_how_it_was_measured(meter):
    first = meter.read()
    time.sleep(1.2)
    second = meter.read()

    assert second.duration_seconds > first.duration_seconds
    assert second.energy_kwh > first.energy_kwh > 0
    assert second.cpu.method in {"rapl", "cpu_load_estimate", "tdp_estimate"}
    assert second.cpu.detail
    assert second.ram.method == "constant_estimate"
    assert second.gpu.method in {"nvml", "none"}
    assert (second.gpu.method == "none") == (second.gpu.energy_kwh == 0.0)
    # mean power since start, W: RAM alone is a few to tens of watts on any machine
    assert 1.0 < second.ram.power_w < 500.0


def test_the_meter_counts_its_own_cpu_time_and_refuses_reads_before_start():
    fresh = CodeCarbonMeter()
    with pytest.raises(MeterUnavailableError, match="call start"):
        fresh.read()
    fresh.start()
    try:
        after_start = fresh.overhead_cpu_seconds
        fresh.read()
        assert after_start > 0
        assert fresh.overhead_cpu_seconds > after_start
    finally:
        fresh.stop()


def test_a_configured_country_gives_its_energy_mix_with_the_source_named():
    intensity = CodeCarbonGrid("FRA").current()

    assert not intensity.is_fallback
    assert 10 < intensity.g_per_kwh < 200  # France's nuclear-heavy grid, gCO2eq/kWh
    assert "energy mix FRA (France" in intensity.source


def test_a_us_state_uses_regional_data():
    intensity = CodeCarbonGrid("USA", "california").current()

    assert "regional data USA/california" in intensity.source
    assert intensity.g_per_kwh != CodeCarbonGrid("USA").current().g_per_kwh


def test_no_country_configured_is_a_flagged_world_average_never_silent():
    intensity = CodeCarbonGrid(None).current()

    assert intensity.is_fallback
    assert "world average" in intensity.source and "GREENTUNE_CARBON_COUNTRY_ISO_CODE" in intensity.source


def test_an_unknown_country_or_region_is_refused_with_what_to_do():
    with pytest.raises(UnknownGridError, match=r"XXX.*no energy-mix data.*leave it unset"):
        CodeCarbonGrid("XXX").current()
    with pytest.raises(UnknownGridError, match="GREENTUNE_CARBON_REGION=narnia"):
        CodeCarbonGrid("USA", "narnia").current()


def test_settings_report_every_bad_value_at_once(monkeypatch):
    monkeypatch.setenv("GREENTUNE_CARBON_COUNTRY_ISO_CODE", "France")
    monkeypatch.setenv("GREENTUNE_CARBON_PUE", "0.5")
    monkeypatch.setenv("GREENTUNE_CARBON_INTERVAL_SECONDS", "0")
    with pytest.raises(ValidationError) as caught:
        CarbonSettings()
    fields = {error["loc"][0] for error in caught.value.errors()}
    assert fields == {"country_iso_code", "pue", "interval_seconds"}


def test_a_region_without_a_country_is_refused():
    with pytest.raises(ValidationError, match="GREENTUNE_CARBON_REGION needs GREENTUNE_CARBON_COUNTRY_ISO_CODE"):
        CarbonSettings(region="california")
