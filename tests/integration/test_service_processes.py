"""Every service's process starts on this machine's CPU and stays up after its heavy imports.

The embedded stack (as `greentune up` runs it, with the API) starts every service at once; each must
answer (its RPC subject, the API's /healthz), the worker must log that it is ready, which it does
once Unsloth is imported, and all must still run a few seconds later. A process killed by a CPU
extension this CPU cannot run (SIGILL) fails here with the stack's report: its signal and log tail.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.embedded.stack import EmbeddedStack
from services.runtime.jetstream import connect
from services.runtime.nats_server import free_port

READY_TIMEOUT_S = 300.0  # seconds; six processes import torch, Unsloth, CodeCarbon at once on 2 cores
STAY_UP_S = 5.0  # seconds each must keep running once all answered


@pytest.mark.slow
async def test_every_service_process_starts_and_stays_up_after_its_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREENTUNE_API_PORT", str(free_port()))
    stack = EmbeddedStack(tmp_path / "data", with_api=True, say=lambda _: None)  # any exit fails it at once
    try:
        await stack.start()
        nc = await connect(stack.url, "test-service-processes", access=stack.access)
        try:
            await stack.wait_ready(nc, timeout=READY_TIMEOUT_S)  # StackError: who died, how, its log tail
            worker_log = tmp_path / "data" / "logs" / "worker.log"
            async with asyncio.timeout(READY_TIMEOUT_S):
                while "worker ready" not in worker_log.read_text(errors="replace"):
                    await stack.watch(nc, stop=_after(1.0))
            await stack.watch(nc, stop=_after(STAY_UP_S))
        finally:
            await nc.close()
        assert all(process.poll() is None for process in stack.processes.values()), stack.processes
        text = worker_log.read_text(errors="replace")
        assert "Unsloth" in text.split("worker ready")[0], "the worker said it was ready before importing Unsloth"
    finally:
        stack.stop()


def _after(seconds: float) -> asyncio.Event:
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, event.set)
    return event
