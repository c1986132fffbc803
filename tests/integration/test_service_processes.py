"""Every service's process starts on this machine's CPU and stays up after its heavy imports.

Each is started as `greentune ...` (as `greentune up` starts it) against a real nats-server, all at
once; each must answer (its RPC subject, the API's /healthz, the worker's ready line, which it
writes once Unsloth is imported) and still run a few seconds later. A process killed by a CPU
extension this CPU cannot run (SIGILL) fails here with its log tail.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client

from services.embedded.stack import API_SERVICE, SERVICES
from services.runtime.jetstream import connect
from services.runtime.nats_server import NatsServer, free_port

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 300.0  # seconds; six processes import torch, Unsloth, CodeCarbon at once on 2 cores
STAY_UP_S = 5.0  # seconds each must keep running once all answered


def describe(name: str, process: subprocess.Popen[bytes], log: Path) -> str:
    code = process.returncode
    how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exited with {code}"
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    return f"the {name} service {how}; last lines of its log:\n{tail}"


async def answers(nc: Client, name: str, subject: str, log: Path, api_url: str) -> bool:
    if name == "worker":
        return "worker ready" in log.read_text(errors="replace")
    if name == "api":
        try:
            async with httpx.AsyncClient(timeout=1.0) as http:
                return (await http.get(f"{api_url}/healthz")).status_code == 200
        except httpx.HTTPError:  # not listening yet
            return False
    try:
        await nc.request(subject, b"{}", timeout=1.0)
        return True
    except Exception:  # no responders yet
        return False


@pytest.mark.slow
async def test_every_service_process_starts_and_stays_up_after_its_imports(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "GREENTUNE_NATS_URL": nats_server.url,
        "GREENTUNE_DATA_DIR": str(tmp_path / "data"),
        "GREENTUNE_API_PORT": str(port),
        "PYTHONUNBUFFERED": "1",  # Unsloth's banner (stdout) and the JSON log (stderr) keep their order
    }
    services = {**SERVICES, "api": API_SERVICE}
    logs = {name: tmp_path / f"{name}.log" for name in services}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name, (args, _) in services.items():
        with logs[name].open("wb") as log:
            command = [sys.executable, "-m", "services.cli.main", *args]
            processes[name] = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    nc = await connect(nats_server.url, "test-service-processes")
    try:
        pending = dict(services)
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                while pending:
                    for name, (_, subject) in list(pending.items()):
                        if processes[name].poll() is not None:
                            pytest.fail(describe(name, processes[name], logs[name]))
                        if await answers(nc, name, subject, logs[name], f"http://127.0.0.1:{port}"):
                            del pending[name]
                    await asyncio.sleep(0.5)
        except TimeoutError:
            pytest.fail(f"no answer after {READY_TIMEOUT_S:.0f} s from: {', '.join(pending)}")
        await asyncio.sleep(STAY_UP_S)

        dead = [describe(name, p, logs[name]) for name, p in processes.items() if p.poll() is not None]
        assert not dead, "\n\n".join(dead)
        worker_log = logs["worker"].read_text(errors="replace")
        assert "Unsloth" in worker_log.split("worker ready")[0], "the worker said it was ready before importing Unsloth"
    finally:
        await nc.close()
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
