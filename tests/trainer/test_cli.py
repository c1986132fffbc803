"""`greentune models|datasets|jobs` talk to a running `greentune jobs serve` and print refusals
problem by problem, with file, line and field, exiting with status 1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.trainer.conftest import REPO


@pytest.fixture
def greentune(nats_server, tmp_path) -> Iterator:  # type: ignore[no-untyped-def,type-arg]
    env = {**os.environ, "GREENTUNE_DATA_DIR": str(tmp_path / "data"), "GREENTUNE_NATS_URL": nats_server.url}
    log = tmp_path / "intake.log"
    with open(log, "wb") as sink:
        intake = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "jobs", "serve"], cwd=REPO, env=env, stderr=sink
        )
    deadline = time.monotonic() + 120  # seconds; a loaded VM starts Python slowly
    while b"trainer intake ready" not in log.read_bytes():
        assert intake.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "services.cli.main", *args]
        return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)

    try:
        yield run
    finally:
        intake.send_signal(signal.SIGTERM)
        intake.wait(30)


def test_the_cli_registers_the_demo_data_and_prints_each_problem_of_a_bad_file(greentune, tiny_model_dir, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant"}]}\n{oops\n')

    model = greentune("models", "register", "tiny", str(tiny_model_dir))
    demo = greentune("datasets", "register", "--demo", "--base-model", "tiny", "--max-seq-length", "64")
    refused = greentune("datasets", "register", str(broken))
    job = greentune(
        "jobs", "create", "--set", "base_model=tiny", "--set", "dataset_id=nope", "--set", "learning_rate=0"
    )

    assert model.returncode == 0, model.stderr
    assert json.loads(model.stdout)["architecture"] == "LlamaForCausalLM"
    assert demo.returncode == 0 and json.loads(demo.stdout)["rows"] == 200, demo.stderr
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[1:] == [
        "  - file broken.jsonl, line 1, field messages[1].content: `content` must be a non-empty string",
        "  - file broken.jsonl, line 2: not valid JSON "
        "(Expecting property name enclosed in double quotes at column 2); fix or remove the line",
    ]
    assert job.returncode == 1 and "field learning_rate" in job.stderr
