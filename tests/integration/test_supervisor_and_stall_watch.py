"""The embedded stack's supervision rules on real, short-lived processes (no stack: seconds): exits
reported with their signal and log tail, restarts after a doubling delay, giving up on a child that
keeps dying before it is ready; and the demo's stall watch on a real nats-server."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from services.embedded.stall import JobStalledError, watch_for_stalls
from services.embedded.supervisor import NEVER_RESTART, ChildSpec, RestartPolicy, StackError, Supervisor

FAST = RestartPolicy(first_delay_s=0.2, max_delay_s=0.4, max_unready_deaths=3, max_deaths=4, window_s=60)


def _spec(tmp_path: Path, code: str, ready_after_s: float | None = None) -> ChildSpec:
    return ChildSpec("svc", [sys.executable, "-c", code], {}, tmp_path / "svc.log", ready_after_s)


def _run_until_error(supervisor: Supervisor, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            supervisor.check()
        except StackError as exc:
            return str(exc)
        time.sleep(0.05)
    raise AssertionError("the supervisor never gave up")


def test_a_child_that_keeps_dying_before_it_is_ready_is_restarted_with_doubling_delays_then_given_up_on(tmp_path):
    reports: list[str] = []
    supervisor = Supervisor([_spec(tmp_path, "print('bad setting: pue'); raise SystemExit(3)")], FAST, reports.append)
    supervisor.start()
    error = _run_until_error(supervisor)
    assert [r.split(";")[1].split(".\n")[0] for r in reports] == [" restarting it in 0.2 s", " restarting it in 0.4 s"]
    assert error.startswith("the svc service exited with status 3; it exited 3 times before it was ready, giving up")
    assert "| bad setting: pue" in error and f"last lines of {tmp_path / 'svc.log'}" in error
    assert (tmp_path / "svc.log").read_text().count("--- greentune: restart") == 2


def test_a_ready_child_that_is_killed_is_reported_by_signal_and_comes_back(tmp_path):
    reports: list[str] = []
    code = "import time; print('serving', flush=True); time.sleep(60)"
    supervisor = Supervisor([_spec(tmp_path, code, ready_after_s=0.3)], FAST, reports.append)
    supervisor.start()
    try:
        first = supervisor.processes["svc"]
        while not supervisor.children["svc"].ready:
            supervisor.check()
            time.sleep(0.05)
        first.kill()
        first.wait()
        while not reports[1:]:
            supervisor.check()
            time.sleep(0.05)
        assert reports[0].startswith("the svc service was killed by SIGKILL; restarting it in 0.2 s.")
        assert "| serving" in reports[0]
        assert reports[1] == "the svc service is back (restart 1)"
        assert supervisor.processes["svc"].pid != first.pid and supervisor.processes["svc"].poll() is None
    finally:
        assert supervisor.stop(grace_s=5) == []  # SIGTERM was enough


def test_without_restarts_the_first_exit_fails_at_once(tmp_path):
    supervisor = Supervisor([_spec(tmp_path, "raise SystemExit(1)")], NEVER_RESTART, print)
    supervisor.start()
    assert _run_until_error(supervisor, timeout=10).startswith("the svc service exited with status 1.\n")


async def test_a_job_with_no_event_for_the_stall_time_is_reported_stalled(nc):
    watch = asyncio.create_task(watch_for_stalls(nc, stall_s=1.5, details=lambda: "worker log tail"))
    await asyncio.sleep(0.5)  # subscribed
    job = "6f9b3c1e-0000-4000-8000-000000000001"
    started = time.monotonic()
    await nc.jetstream().publish(f"events.trainer.job.{job}.JobQueued", b"{}")
    with pytest.raises(JobStalledError) as stalled:
        await asyncio.wait_for(watch, timeout=10)
    assert 1.5 <= time.monotonic() - started < 4
    assert f"job {job} made no progress" in str(stalled.value) and "its last event: JobQueued" in str(stalled.value)
    assert str(stalled.value).endswith("worker log tail")


async def test_a_job_that_ended_is_not_reported_stalled(nc):
    watch = asyncio.create_task(watch_for_stalls(nc, stall_s=1.0))
    await asyncio.sleep(0.5)
    job = "6f9b3c1e-0000-4000-8000-000000000002"
    for kind in ("JobQueued", "JobStarted", "JobCompleted"):
        await nc.jetstream().publish(f"events.trainer.job.{job}.{kind}", b"{}")
    await asyncio.sleep(2.5)
    assert not watch.done()
    watch.cancel()
