"""The carbon read model, rebuilt from the log, holds each job's totals (equal to the sum of its
EmissionsMeasured events), says how every figure was measured, and reports per day, API key and
model; a finished job's emissions.csv lands in the artifact store."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from contracts import Actor
from contracts.events.inference import InferenceCompleted
from contracts.events.models import ArtifactRef, ModelRegistered
from services.carbon.adapters.codecarbon_grid import CodeCarbonGrid
from services.carbon.adapters.emissions_log import JetStreamEmissionsLog
from services.carbon.app import CarbonService
from services.carbon.domain import MeteredSubject, UnknownSubjectError
from services.carbon.queries import CsvQuery, JobQuery
from services.carbon.reporter import EmissionsReporter
from services.carbon.reports import CarbonReports
from services.carbon.view import CarbonView
from services.cli.main import cli
from services.runtime.artifacts import layout
from services.runtime.projection import ProjectionRunner
from tests.carbon.conftest import ALICE, busy, complete_job, publish, request_job
from tests.carbon.test_reporter import stored_intervals

BOB = Actor(kind="api_key", id="key-bob")


async def run_metered_job(nc, meter, actor: Actor, seconds: float, tokens: int, grid=None) -> str:  # type: ignore[no-untyped-def]
    job_id = await request_job(nc, actor)
    reporter = EmissionsReporter(
        JetStreamEmissionsLog(nc), meter, grid or CodeCarbonGrid("FRA"), pue=1.1, interval_seconds=0.2
    )
    async with reporter.measuring(MeteredSubject.job(job_id, actor)):
        await busy(seconds)
    await complete_job(nc, job_id, tokens, actor)
    return job_id


async def test_job_totals_equal_the_sum_of_its_events_replayed_from_the_log(nc, meter, carbon: CarbonService, tmp_path):
    jobs = [await run_metered_job(nc, meter, actor, 0.8, 4000) for actor in (ALICE, BOB, ALICE)]
    await carbon.catch_up()
    rebuilt = ProjectionRunner(nc, CarbonView.open(tmp_path / "rebuilt.sqlite"), durable="carbon-rebuilt")
    await rebuilt.rebuild()
    rebuilt_reports = CarbonReports(rebuilt.view)  # type: ignore[arg-type]

    for job_id in jobs:
        events = [env.event for env in await stored_intervals(nc, "job", job_id)]
        energy, grams = sum(e.energy_kwh for e in events), sum(e.emissions_g for e in events)
        for report in (carbon.handlers.reports.job(job_id), rebuilt_reports.job(job_id)):
            print(f"job {job_id}: read model {report['energy_kwh']:.9g} kWh, events {energy:.9g} kWh")
            assert report["energy_kwh"] == pytest.approx(energy, rel=1e-3)
            assert report["emissions_g"] == pytest.approx(grams, rel=1e-3)
            assert report["intervals"] == len(events) and report["missing_sequences"] == []
            assert report["g_per_1k_trained_tokens"] == pytest.approx(grams / 4.0, rel=1e-3)


async def test_every_stored_figure_carries_its_method_and_intensity_source(nc, meter, carbon: CarbonService):
    measured = await run_metered_job(nc, meter, ALICE, 0.4, 1000)
    unconfigured = await run_metered_job(nc, meter, BOB, 0.4, 1000, grid=CodeCarbonGrid(None))
    await carbon.catch_up()

    rows = carbon.view.rows("SELECT * FROM intervals")
    assert rows
    for row in rows:
        assert all(row[f"{part}_method"] for part in ("cpu", "gpu", "ram"))
        assert row["intensity_source"].startswith("CodeCarbon") and row["intensity"] > 0
        assert bool(row["intensity_fallback"]) == (row["subject_id"] == unconfigured)
    flagged = carbon.handlers.reports.job(unconfigured)
    assert flagged["intensity_fallback"] is True
    assert flagged["how_measured"]["intensity"][0]["is_fallback"] is True
    assert carbon.handlers.reports.job(measured)["intensity_fallback"] is False
    assert "cpu_load_estimate" in " ".join(flagged["how_measured"]["cpu"]) or "rapl" in " ".join(
        flagged["how_measured"]["cpu"]
    )


async def test_reports_per_day_api_key_and_model_count_training_and_serving(nc, meter, carbon: CarbonService):
    job_id = await run_metered_job(nc, meter, ALICE, 0.4, 2000)
    ref = ArtifactRef(kind="lora", uri="file:///x", size_bytes=1, sha256="0" * 64)
    model = ModelRegistered(
        name="facts", model_version=1, job_id=job_id, base_model="tiny", dataset_id="demo", artifacts=(ref,)
    )
    await publish(nc, model, "facts", producer="registry")
    served = InferenceCompleted(
        request_id="r1",
        model="facts",
        mode="generate",
        prompt_tokens=10,
        completion_tokens=30,
        latency_ms=5.0,
        finish_reason="stop",
        energy_kwh=2e-6,
    )
    await publish(nc, served, "engine-1", actor=BOB, producer="inference")
    await carbon.catch_up()
    reports = carbon.handlers.reports

    by_model = {row["model"]: row for row in reports.per_model()}
    assert by_model["facts"]["training_kwh"] == pytest.approx(reports.job(job_id)["energy_kwh"])
    assert by_model["facts"]["serving_kwh"] == pytest.approx(2e-6) and by_model["facts"]["requests"] == 1
    by_key = {row["api_key"]: row for row in reports.per_api_key()}
    assert by_key["key-alice"]["training_kwh"] > 0 and by_key["key-bob"]["serving_kwh"] == pytest.approx(2e-6)
    today = datetime.now(UTC).date().isoformat()
    assert [row["day"] for row in reports.per_day()] == [today]
    assert [j["job_id"] for j in reports.jobs()] == [job_id]
    with pytest.raises(UnknownSubjectError, match="no job nope"):
        reports.job("nope")


async def test_a_finished_job_gets_its_emissions_csv_in_the_artifact_store(nc, meter, carbon: CarbonService):
    job_id = await run_metered_job(nc, meter, ALICE, 0.6, 1000)
    await carbon.catch_up()

    store = carbon.handlers.store
    assert store is not None and store.exists(layout.job_log(job_id, "emissions.csv"))
    text = carbon.handlers.csv(CsvQuery(subject_id=job_id))
    rows = list(csv.DictReader(io.StringIO(text)))
    report = carbon.handlers.reports.job(job_id)
    assert len(rows) == report["intervals"]
    assert float(rows[-1]["energy_consumed"]) == pytest.approx(report["energy_kwh"], rel=1e-6)  # running total
    assert float(rows[-1]["emissions"]) * 1000 == pytest.approx(report["emissions_g"], rel=1e-6)  # kg
    assert {row["cpu_method"] for row in rows} and all(row["intensity_source"] for row in rows)
    assert rows[-1]["final"] == "True"
    card = carbon.handlers.model_card(JobQuery(job_id=job_id))
    assert card.emissions == pytest.approx(report["emissions_g"])
    assert card.training_type == "fine-tuning" and "FRA" in card.geographical_location
    assert "energy mix FRA" in card.source and "CPU" in card.hardware_used


async def test_the_cli_report_prints_kwh_and_co2_with_how_each_was_measured(nc, nats_server, meter, carbon, tmp_path):
    job_id = await run_metered_job(nc, meter, ALICE, 0.4, 1000, grid=CodeCarbonGrid(None))
    await carbon.catch_up()
    env = {"GREENTUNE_NATS_URL": nats_server.url}

    shown = await asyncio.to_thread(CliRunner().invoke, cli, ["carbon", "report", job_id], env=env)
    exported = await asyncio.to_thread(
        CliRunner().invoke, cli, ["carbon", "csv", job_id, "-o", str(tmp_path / "e.csv")], env=env
    )
    missing = await asyncio.to_thread(CliRunner().invoke, cli, ["carbon", "report", "no-such-job"], env=env)

    assert shown.exit_code == 0, shown.output
    assert f"job {job_id}: " in shown.output and " kWh, " in shown.output and " gCO2eq over " in shown.output
    assert "CPU: " in shown.output and "RAM: " in shown.output and "constant_estimate" in shown.output
    assert "[FALLBACK]" in shown.output and "world average" in shown.output
    assert exported.exit_code == 0 and (tmp_path / "e.csv").read_text().startswith("timestamp,project_name,run_id")
    assert missing.exit_code == 1 and "UnknownSubjectError: no job no-such-job" in missing.output
