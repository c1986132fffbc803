"""GPU check (marker `gpu`, never in the default run): the worker's recipe with Unsloth's CUDA kernels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu" / "trainer_gpu.py"


@pytest.mark.gpu
@pytest.mark.parametrize("size", ["tiny", "1b"])
def test_the_demo_job_trains_on_a_gpu_and_reports_throughput_and_peak_memory(size):
    done = subprocess.run([sys.executable, str(SCRIPT), "--size", size], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])

    print(result)
    assert result["tokens_per_second"] > 0 and 0 < result["peak_memory_gib"] < 80
    assert result["last_loss"] < result["first_loss"]
