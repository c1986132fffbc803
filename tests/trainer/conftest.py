"""Trainer fixtures: the intake running in the test's event loop against a private nats-server,
worker processes started on demand (killed at teardown), and readers of the EVENTS stream.

Workers run as separate processes, as in production: Unsloth patches transformers when imported,
and the crash test kills them with SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js.api import DeliverPolicy

from contracts import Actor, Envelope, decode_envelope
from services.runtime.nats_server import NatsServer
from services.runtime.outbox import OutboxRelay
from services.runtime.rpc import RpcFailed
from services.runtime.settings import KernelSettings
from services.trainer.app import build_context, intake
from services.trainer.client import ask
from services.trainer.commands import Command, RegisterBaseModel, RegisterDataset
from services.trainer.config import TrainerSettings
from services.trainer.context import TrainerContext
from services.trainer.demo_facts import DEMO_HYPERPARAMETERS
from tests.fakes import wait_until

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "services" / "trainer" / "demo" / "facts.jsonl"
ACTOR = Actor(kind="cli", id="tests")
ACK_WAIT = 3.0  # seconds without heartbeat before a job moves to another worker
DEMO_CONFIG: dict[str, Any] = {
    **DEMO_HYPERPARAMETERS,
    "base_model": "tiny",
    "checkpoint_interval_steps": 200,
    "progress_interval_steps": 10,
}


class Trainer:
    """The intake plus helpers to drive it only through its public wire: RPC and the EVENTS stream."""

    def __init__(self, ctx: TrainerContext, nc: Client, server: NatsServer, tmp: Path) -> None:
        self.ctx, self.nc, self.server, self.tmp = ctx, nc, server, tmp
        self.workers: list[subprocess.Popen[bytes]] = []
        self.relay: OutboxRelay | None = None

    async def send(self, command: Command) -> dict[str, Any]:
        """The reply as JSON: {"ok": true, "result": ...} or {"ok": false, "error": <problem>}."""
        try:
            return {"ok": True, "result": (await ask(self.nc, command, timeout=120)).model_dump(mode="json")}
        except RpcFailed as exc:
            return {"ok": False, "error": exc.problem().model_dump(mode="json")}

    async def result(self, command: Command) -> dict[str, Any]:
        reply = await self.send(command)
        assert reply["ok"], reply
        return dict(reply["result"])

    async def events(self, subject: str = "events.>") -> list[Envelope]:
        """Every event on `subject`, in stream order, once the relay has published what is recorded."""
        await self.published()
        js = self.nc.jetstream()
        sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        out: list[Envelope] = []
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except TimeoutError:
                    return out
                out.append(decode_envelope(msg.data))
                if msg.metadata.num_pending == 0:
                    return out
        finally:
            await sub.unsubscribe()

    async def published(self, timeout: float = 30.0) -> None:
        """Wait until the trainer's outbox is in the stream (the relay publishes asynchronously)."""
        assert self.relay is not None
        relay = self.relay

        async def caught_up() -> bool:
            return relay.position >= await asyncio.to_thread(self.ctx.app.outbox_head)

        await wait_until(caught_up, timeout=timeout)

    async def job_events(self, job_id: str, producer: str = "*") -> list[Envelope]:
        return await self.events(f"events.{producer}.job.{job_id}.*")

    async def wait_for_event(self, job_id: str, type_name: str, timeout: float = 480.0, **fields: Any) -> Envelope:
        """The job's first `type_name` event whose fields have the given values.

        The timeout is generous on purpose: this VM is shared and a 15 s run can take minutes.
        """
        seen: list[Envelope] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    seen = await self.job_events(job_id)
                    for envelope in seen:
                        event = envelope.event
                        if event.type_name() == type_name and all(getattr(event, k) == v for k, v in fields.items()):
                            return envelope
                    await asyncio.sleep(0.2)
        except TimeoutError:
            last = [f"{e.event.type_name()}@{getattr(e.event, 'step', '')}" for e in seen[-5:]]
            raise AssertionError(f"no {type_name} {fields or ''} after {timeout} s; last events: {last}") from None

    def spawn_worker(self, max_jobs: int | None = None, measure_energy: bool = False) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "GREENTUNE_DATA_DIR": str(self.ctx.kernel.data_dir),
            "GREENTUNE_NATS_URL": self.server.url,
            "GREENTUNE_TRAINER_QUEUE_ACK_WAIT_SECONDS": str(ACK_WAIT),
            "GREENTUNE_TRAINER_CANCEL_POLL_SECONDS": "0.2",
            "GREENTUNE_TRAINER_MEASURE_ENERGY": "1" if measure_energy else "0",  # CodeCarbon costs ~2 s per worker
            # An interval well inside a tiny job (5-15 s), so that its energy arrives live, before the export.
            "GREENTUNE_CARBON_INTERVAL_SECONDS": "2",
        }
        args = [sys.executable, "-m", "services.cli.main", "jobs", "worker"]
        args += ["--max-jobs", str(max_jobs)] if max_jobs else []
        log = open(self.tmp / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115  # the child's lifetime
        worker = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(worker)
        return worker

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)

    async def register_demo(self, tiny_model_dir: Path) -> str:
        """Register the tiny base model as `tiny` and the demo facts; returns the dataset id."""
        await self.result(RegisterBaseModel(actor=ACTOR, model_name="tiny", source=str(tiny_model_dir)))
        registered = await self.result(
            RegisterDataset(actor=ACTOR, path=str(DEMO), base_model="tiny", max_seq_length=64)
        )
        return str(registered["dataset_id"])


@pytest.fixture
def trainer_ctx(tmp_path: Path, nats_server: NatsServer) -> TrainerContext:
    kernel = KernelSettings(data_dir=tmp_path / "data", nats_url=nats_server.url)
    return build_context(kernel, TrainerSettings(queue_ack_wait_seconds=ACK_WAIT, cancel_poll_seconds=0.2))


@pytest.fixture
async def trainer(
    trainer_ctx: TrainerContext, nc: Client, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[Trainer]:
    harness = Trainer(trainer_ctx, nc, nats_server, tmp_path)
    try:
        async with intake(trainer_ctx, nc) as relay:
            harness.relay = relay
            yield harness
    finally:
        harness.stop_workers()


@pytest.fixture
def write_file(tmp_path: Path) -> Iterator[Callable[[str, str], Path]]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / "inputs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    yield write
