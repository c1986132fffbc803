"""`greentune up` and `greentune demo` supervise their children, tried as a user would: one `up`
process (a real nats-server, every service, the HTTP API) whose children are SIGKILLed one by one
and must come back on their own (the trainer worker's job resuming from its checkpoint), then
Ctrl-C with a client following a job's live feed; and a service that cannot start (an invalid
setting) making `up` and the demo exit non-zero with its log tail.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from contracts import Actor, decode_envelope
from contracts.events.jobs import CheckpointSaved, JobCompleted, JobStarted, TrainingProgressed
from services.runtime.event_feed import read_events
from services.runtime.jetstream import connect
from services.trainer.client import ask
from services.trainer.commands import Command, CreateJob, RegisterBaseModel, RegisterDataset
from services.trainer.demo_facts import DEMO_HYPERPARAMETERS
from tests.api.conftest import free_port
from tests.e2e.conftest import REPO, Running, Up
from tests.harness.models import tiny_base

DEMO = REPO / "services" / "trainer" / "demo" / "facts.jsonl"
ACTOR = Actor(kind="cli", id="tests")
BROKEN_CARBON = {"GREENTUNE_CARBON_PUE": "0.5"}  # below 1: the carbon service's settings refuse it


async def _result(nc: Any, command: Command) -> dict[str, Any]:
    return dict((await ask(nc, command, timeout=120)).model_dump(mode="json"))


async def _events(nc: Any, job_id: str) -> list[Any]:
    feed = read_events(nc, f"events.*.job.{job_id}.*")
    return [decode_envelope(stored.data).event async for stored in feed if stored is not None]


async def _wait_for_event(nc: Any, job_id: str, kind: type, timeout: float) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := [e for e in await _events(nc, job_id) if isinstance(e, kind)]):
            await asyncio.sleep(0.5)
    return found[0]


@pytest.mark.timeout(600)
async def test_a_killed_trainer_worker_is_restarted_and_its_job_completes_from_its_checkpoint(up: Up) -> None:
    nc = await connect(up.nats_url, "tests", access=up.access)
    try:
        await _result(nc, RegisterBaseModel(actor=ACTOR, model_name="tiny", source=str(tiny_base())))
        dataset = await _result(nc, RegisterDataset(actor=ACTOR, path=str(DEMO), base_model="tiny", max_seq_length=64))
        config = {
            **DEMO_HYPERPARAMETERS,
            "base_model": "tiny",
            "dataset_id": dataset["dataset_id"],
            "epochs": 12,
            "checkpoint_interval_steps": 20,
            "progress_interval_steps": 2,
        }
        job_id = str((await _result(nc, CreateJob(actor=ACTOR, config=config)))["job_id"])
        saved = await _wait_for_event(nc, job_id, CheckpointSaved, timeout=240)
        worker = up.running.child("jobs", "worker")
        worker.kill()
        up.running.wait_for(r"the worker service was killed by SIGKILL; restarting it in [0-9.]+ s", 10)
        killed_at = time.monotonic()
        await _wait_for_event(nc, job_id, JobCompleted, timeout=240)
        took = time.monotonic() - killed_at
        events = await _events(nc, job_id)
    finally:
        await nc.close()
    starts = [e for e in events if isinstance(e, JobStarted)]
    assert [s.attempt for s in starts] == [1, 2]
    assert starts[1].resumed_from_step is not None and starts[1].resumed_from_step >= saved.step > 0
    second = [e.step for e in events if isinstance(e, TrainingProgressed) and e.attempt == 2]
    assert second and second[0] > starts[1].resumed_from_step and second[-1] == starts[1].max_steps
    assert up.running.child("jobs", "worker").pid != worker.pid
    assert took < 240, f"the job took {took:.0f} s to complete after its worker was killed"


# service -> how `up` started it, and a request that it answers (through the API where it has a route)
OTHERS: dict[str, tuple[tuple[str, ...], str]] = {
    "trainer": (("jobs", "serve"), "GET /api/v1/jobs/{job_id}"),
    "inference": (("inference", "serve"), "GET /v1/models"),
    "registry": (("registry", "serve"), "rpc.registry.catalogue"),
    "carbon": (("carbon", "serve"), "GET /api/v1/jobs/{job_id}/carbon"),
    "api": (("api", "serve"), "GET /api/v1/jobs"),
}


@pytest.mark.parametrize("service", list(OTHERS))
@pytest.mark.timeout(300)
async def test_a_killed_service_is_restarted_and_its_next_request_succeeds(up: Up, service: str) -> None:
    args, request = OTHERS[service]
    killed = up.running.child(*args)
    killed.kill()
    up.running.wait_for(rf"the {service} service was killed by SIGKILL; restarting it", 10)
    up.running.wait_for(rf"the {service} service is back \(restart 1\)", 180)
    assert up.running.child(*args).pid != killed.pid
    if request.startswith("rpc."):
        nc = await connect(up.nats_url, "tests", access=up.access)
        try:
            reply = json.loads((await nc.request(request, b"{}", timeout=10)).data)
        finally:
            await nc.close()
        assert reply["ok"], reply
        return
    async with httpx.AsyncClient(base_url=up.api_url, headers=up.admin, timeout=30) as http:
        job_id = (await http.get("/api/v1/jobs")).json()["jobs"][0]["job_id"]  # the first test's
        reply = await http.get(request.removeprefix("GET ").format(job_id=job_id))
    assert reply.status_code == 200, reply.text


@pytest.mark.timeout(120)
async def test_ctrl_c_stops_up_within_seconds_while_a_client_follows_a_job_s_live_feed(up: Up) -> None:
    children = psutil.Process(up.running.process.pid).children()
    async with httpx.AsyncClient(base_url=up.api_url, headers=up.admin, timeout=30) as http:
        jobs = (await http.get("/api/v1/jobs")).json()["jobs"]
        job_id = jobs[0]["job_id"] if jobs else str(uuid.uuid4())  # run alone: a job yet to come
        async with http.stream("GET", f"/api/v1/jobs/{job_id}/events?follow=true") as feed:
            assert feed.status_code == 200
            up.running.process.send_signal(signal.SIGINT)
            started = time.monotonic()
            try:
                async with asyncio.timeout(15):  # the server ends the feed
                    async for _ in feed.aiter_lines():
                        pass
            except httpx.RemoteProtocolError as exc:
                pytest.fail(f"the live feed was cut, not ended (the API was killed?): {exc}")
    code = await asyncio.to_thread(up.running.process.wait, 15)
    took = time.monotonic() - started
    assert code == 0, up.running.text()[-3000:]
    assert took < 5, f"`greentune up` took {took:.1f} s to stop:\n{up.running.text()[-3000:]}"
    assert "did not stop within" not in up.running.text(), up.running.text()[-3000:]  # none needed SIGKILL
    assert not [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.timeout(300)
def test_up_exits_non_zero_with_the_log_tail_of_a_service_that_cannot_start(tmp_path: Path) -> None:
    running = Running.start(
        ["up", "--data-dir", str(tmp_path)], {**BROKEN_CARBON, "GREENTUNE_API_PORT": str(free_port())}
    )
    try:
        code = running.process.wait(240)
    finally:
        running.process.kill()
    time.sleep(0.5)  # the reader threads take the last lines
    text = running.text()
    assert code != 0, text[-3000:]
    assert "the carbon service exited with status 1; it exited 3 times before it was ready, giving up" in text, text
    assert "restarting it in 0.5 s" in text and "restarting it in 1.0 s" in text, text
    assert f"last lines of {tmp_path / 'logs' / 'carbon.log'}" in text and "Input should be greater than" in text, text


@pytest.mark.timeout(300)
def test_the_demo_fails_at_once_with_the_log_tail_of_a_service_that_cannot_start(tmp_path: Path) -> None:
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "demo", "--model", "tiny", "--data-dir", str(tmp_path)],
        cwd=REPO,
        env={**os.environ, **BROKEN_CARBON},
        capture_output=True,
        text=True,
        timeout=240,
    )
    took = time.monotonic() - started
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-3000:]
    assert "the demo failed: the carbon service exited with status 1." in run.stderr, run.stderr
    assert "Input should be greater than or equal to 1" in run.stderr, run.stderr
    assert took < 90, f"the demo took {took:.0f} s to fail"


@pytest.mark.timeout(600)
def test_the_demo_fails_at_once_with_the_report_when_its_worker_dies_with_the_job_in_flight(tmp_path: Path) -> None:
    demo = Running.start(["demo", "--model", "tiny", "--data-dir", str(tmp_path)], {"PYTHONUNBUFFERED": "1"})
    try:
        demo.wait_for(r"JobQueued", 480)
        demo.child("jobs", "worker").kill()
        killed_at = time.monotonic()
        code = demo.process.wait(60)
    finally:
        demo.process.kill()
    took = time.monotonic() - killed_at
    time.sleep(0.5)  # the reader threads take the last lines
    text = demo.text()
    assert code == 1, text[-3000:]
    assert "Error: the demo failed: the worker service was killed by SIGKILL." in text, text[-3000:]
    assert f"last lines of {tmp_path / 'logs' / 'worker.log'}" in text and "trainer.worker" in text, text[-3000:]
    assert took < 30, f"the demo took {took:.0f} s to notice its dead worker"
