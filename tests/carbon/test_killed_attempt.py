"""A job whose metered process is SIGKILLed between two intervals, then resumed by another attempt:
the time nobody measured is marked on the job (attempt, seconds) in the carbon report, the CLI and
the API's client, while the intervals stay numbered 1..N with one final and add up to the totals."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from uuid import uuid4

import pytest
from click.testing import CliRunner

from contracts import decode_envelope
from contracts.events.carbon import EmissionsUnmeasured
from contracts.events.jobs import JobRequested, JobStarted
from contracts.stream import STREAM_NAME
from contracts.training_config import TrainingConfig
from services.carbon.adapters.codecarbon_grid import CodeCarbonGrid
from services.carbon.adapters.emissions_log import JetStreamEmissionsLog
from services.carbon.app import CarbonService
from services.carbon.client import CarbonClient
from services.carbon.config import CarbonSettings
from services.carbon.metering import JobEnergyReporter
from services.cli.main import cli
from tests.carbon.conftest import publish
from tests.carbon.metered_attempt import run_attempt
from tests.carbon.test_reporter import stored_intervals
from tests.fakes import wait_until

INTERVAL = 0.3  # seconds between EmissionsMeasured
HANDOVER = 0.5  # seconds between the kill and the next attempt (the queue's ack wait, shortened)


async def new_job(nc) -> str:  # type: ignore[no-untyped-def]
    job_id = str(uuid4())
    await publish(nc, JobRequested(config=TrainingConfig(base_model="tiny", dataset_id="demo", max_steps=100)), job_id)
    return job_id


def spawn_attempt(url: str, job_id: str, attempt: int, interval: float) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.carbon.metered_attempt", url, job_id, str(attempt), str(interval), "600"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL


async def measured(nc, job_id: str, at_least: int) -> int:  # type: ignore[no-untyped-def]
    """Wait until the job has `at_least` intervals in the stream; returns the last sequence."""
    log = JetStreamEmissionsLog(nc)

    async def enough() -> bool:
        last = await log.last_measured("job", job_id)
        return last is not None and last.event.sequence >= at_least  # type: ignore[union-attr]

    await wait_until(enough, timeout=60)
    last = await log.last_measured("job", job_id)
    assert last is not None
    return last.event.sequence  # type: ignore[union-attr]


def energy_reporter(nc, meter) -> JobEnergyReporter:  # type: ignore[no-untyped-def]
    settings = CarbonSettings(country_iso_code="FRA", interval_seconds=INTERVAL)
    return JobEnergyReporter(JetStreamEmissionsLog(nc), meter, CodeCarbonGrid("FRA"), settings)


async def test_a_killed_attempts_unmeasured_time_is_marked_on_the_job_and_numbering_stays_whole(
    nats_server, nc, meter, carbon: CarbonService
):
    job_id = await new_job(nc)
    first = spawn_attempt(nats_server.url, job_id, 1, INTERVAL)
    killed_after = await measured(nc, job_id, at_least=2)
    kill(first)
    killed_at = time.monotonic()
    await asyncio.sleep(HANDOVER)
    second = await run_attempt(nc, energy_reporter(nc, meter), job_id, 2, seconds=0.5)
    gap_bound = time.monotonic() - killed_at + 2 * INTERVAL  # kill to now, plus the kill's lag after an interval
    await carbon.catch_up()

    report = (await CarbonClient(nc).job(job_id)).model_dump()  # what GET /api/v1/jobs/{id}/carbon returns
    events = [env.event for env in await stored_intervals(nc, "job", job_id)]
    assert isinstance(second.unmeasured, EmissionsUnmeasured)
    print(f"\nkilled after interval {killed_after}; marked: {report['unmeasured']}")
    [gap] = report["unmeasured"]
    assert gap["attempt"] == 1 and gap["after_sequence"] == killed_after == second.unmeasured.after_sequence
    assert HANDOVER <= gap["seconds"] <= gap_bound
    assert f"attempt 1 ended without its final measurement; {gap['seconds']:.1f} s unmeasured" in gap["note"]
    assert report["lost_intervals"] == 1 and report["unmeasured_seconds"] == pytest.approx(gap["seconds"])
    # The resumed attempt continues the numbering: whole, one final (the last), totals = the intervals.
    assert [e.sequence for e in events] == list(range(1, len(events) + 1)) and len(events) > killed_after
    assert [e.final for e in events].count(True) == 1 and events[-1].final
    assert report["missing_sequences"] == [] and report["intervals"] == len(events) and report["final_seen"]
    assert report["energy_kwh"] == pytest.approx(sum(e.energy_kwh for e in events), rel=1e-6)

    env = {"GREENTUNE_NATS_URL": nats_server.url}
    shown = await asyncio.to_thread(CliRunner().invoke, cli, ["carbon", "report", job_id], env=env)
    assert shown.exit_code == 0, shown.output
    assert f"UNMEASURED: attempt 1 ended without its final measurement; {gap['seconds']:.1f} s" in shown.output


async def test_attempts_killed_before_their_first_interval_are_marked_too(nats_server, nc, meter, carbon):
    job_id = await new_job(nc)
    await publish(nc, JobStarted(worker_id="gone", attempt=1, device="cpu", max_steps=100), job_id)  # no meter ran
    second = spawn_attempt(nats_server.url, job_id, 2, INTERVAL)
    await measured(nc, job_id, at_least=1)
    kill(second)
    third = spawn_attempt(nats_server.url, job_id, 3, interval=60)  # killed before its first interval

    async def third_started() -> bool:  # its meter runs (JobStarted comes after it started)
        started = await nc.jetstream().get_last_msg(STREAM_NAME, f"events.trainer.job.{job_id}.JobStarted")
        return decode_envelope(started.data).event.attempt == 3  # type: ignore[union-attr]

    await wait_until(third_started, timeout=60)
    kill(third)
    await run_attempt(nc, energy_reporter(nc, meter), job_id, 4, seconds=0.3)
    await carbon.catch_up()

    report = carbon.handlers.reports.job(job_id)
    notes = [g["note"] for g in report["unmeasured"]]
    assert notes[0] == "attempt 1 ended before publishing any measurement; its energy is unmeasured (duration unknown)"
    assert notes[1].startswith("attempts 2-3 ended without their final measurement; ")  # one gap, found twice
    assert report["lost_intervals"] == 2 and report["unmeasured_seconds"] == report["unmeasured"][1]["seconds"] > 0
    assert report["missing_sequences"] == [] and report["final_seen"]
