"""`greentune doctor`'s load checks run in a child process and say how it ended: a crash is named
by its signal (SIGILL with what it means), a failure by its exit code and last line."""

from __future__ import annotations

from services.cli.doctor_commands import healthy, load_check


def test_a_child_killed_by_sigill_is_reported_as_a_missing_instruction() -> None:
    check = load_check("import os, signal; os.kill(os.getpid(), signal.SIGILL)", timeout=60)
    assert check["ok"] is False
    assert check["outcome"] == "killed by SIGILL: an instruction this CPU does not have"


def test_a_failing_import_is_reported_with_its_exit_code_and_error() -> None:
    check = load_check("import no_such_module_here", timeout=60)
    assert check["ok"] is False
    assert check["outcome"].startswith("exit code 1: ModuleNotFoundError")
    assert "no_such_module_here" in check["outcome"]


def test_a_child_that_loads_is_ok_and_a_report_with_one_failure_is_not_healthy() -> None:
    loaded = load_check("import json", timeout=60)
    assert (loaded["ok"], loaded["outcome"]) == (True, "loaded")
    timed_out = load_check("import time; time.sleep(30)", timeout=0.5)
    assert timed_out == {**timed_out, "ok": False, "outcome": "no answer after 0.5 s"}
    report = {"vllm": {"supported": True}, "loads": {"unsloth": loaded, "vllm_kernels": timed_out}}
    assert not healthy(report)
    assert healthy({**report, "loads": {"unsloth": loaded}})
