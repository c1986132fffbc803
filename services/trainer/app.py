"""Wiring of the trainer: settings -> store, caches, adapters -> intake service and workers.

The intake (`greentune jobs serve`) answers rpc.trainer.* commands, relays the trainer's outbox to
EVENTS and feeds the job queue from JobQueued events. Workers (`greentune jobs worker`, any number,
separate processes) take jobs from the queue; they share the trainer's event store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from nats.aio.client import Client

from services.carbon.client import BudgetGate, CarbonClient
from services.runtime import rpc
from services.runtime.artifacts import ArtifactSettings, ArtifactStore, open_artifact_store
from services.runtime.jetstream import connect, ensure_stream
from services.runtime.logging import get_logger
from services.runtime.outbox import OutboxRelay
from services.runtime.settings import KernelSettings
from services.trainer.adapters.budget import AllowAllBudgets
from services.trainer.adapters.gguf import LlamaCppConverter
from services.trainer.adapters.queue import Dispatcher, ensure_queue
from services.trainer.adapters.rpc import RPC
from services.trainer.adapters.tokenizer import HFTokenCounter
from services.trainer.config import TrainerSettings
from services.trainer.context import TrainerContext
from services.trainer.errors import BudgetExceededError, BudgetUnavailableError
from services.trainer.event_store import TrainerEventStore
from services.trainer.handlers import TrainerHandlers
from services.trainer.inputs import ArtifactCache
from services.trainer.ports import BudgetCheck, JobEnergy
from services.trainer.worker import Worker


def build_context(
    kernel: KernelSettings | None = None,
    settings: TrainerSettings | None = None,
    *,
    store: ArtifactStore | None = None,
    budget: BudgetCheck | None = None,
    energy: JobEnergy | None = None,
) -> TrainerContext:
    kernel = kernel or KernelSettings()
    settings = (settings or TrainerSettings()).resolved(kernel.data_dir)
    store = store or open_artifact_store(ArtifactSettings(), kernel.data_dir)
    gguf = LlamaCppConverter.find(settings.llama_cpp_dir)
    if settings.llama_cpp_dir and gguf is None:
        get_logger("trainer").warning("GREENTUNE_TRAINER_LLAMA_CPP_DIR has no convert_hf_to_gguf.py + gguf-py/")
    return TrainerContext(
        kernel=kernel,
        settings=settings,
        app=TrainerEventStore(kernel),
        store=store,
        cache=ArtifactCache(store, settings.folder("cache_dir")),
        tokens=HFTokenCounter(),
        budget=budget,
        energy=energy,
        gguf=gguf,
    )


@contextlib.asynccontextmanager
async def intake(ctx: TrainerContext, nc: Client) -> AsyncIterator[OutboxRelay]:
    """Run the intake (RPC commands, outbox relay, queue dispatcher) while the block runs."""
    await ensure_stream(nc.jetstream(), ctx.kernel.stream_replicas)
    await ensure_queue(nc, ctx.settings.queue_ack_wait_seconds, ctx.kernel.stream_replicas)
    if ctx.budget is None:
        carbon = CarbonClient(nc, timeout=5.0)
        ctx.budget = (
            BudgetGate(carbon, error=BudgetExceededError, unavailable=BudgetUnavailableError)
            if ctx.settings.budget_check == "carbon"
            else AllowAllBudgets()
        )

    relay, dispatcher = OutboxRelay(ctx.app, nc), Dispatcher(nc)
    commands = TrainerHandlers(ctx, recorded=relay.notify)  # publish what a command recorded now
    rpc_broker = rpc.broker(nc, RPC, commands)
    stop = asyncio.Event()
    await dispatcher.start()
    tasks = [asyncio.create_task(relay.run(stop, poll_interval=0.1)), asyncio.create_task(dispatcher.run(stop))]
    await rpc.start(rpc_broker)
    try:
        yield relay
    finally:
        await rpc_broker.stop()
        stop.set()
        await asyncio.gather(*tasks)


async def serve(ctx: TrainerContext, stop: asyncio.Event) -> None:
    nc = await connect(ctx.kernel.nats_url, "trainer-intake", identity="trainer")
    try:
        async with intake(ctx, nc):
            get_logger("trainer").info("trainer intake ready", nats=ctx.kernel.nats_url)
            await stop.wait()
    finally:
        await nc.close()


async def work(ctx: TrainerContext, stop: asyncio.Event, max_jobs: int | None = None) -> None:
    """Run one worker until `stop` (or `max_jobs` jobs)."""
    nc = await connect(ctx.kernel.nats_url, f"trainer-worker-{ctx.settings.worker_id}", identity="trainer")
    try:
        await ensure_queue(nc, ctx.settings.queue_ack_wait_seconds, ctx.kernel.stream_replicas)
        if ctx.energy is None and ctx.settings.measure_energy:
            ctx.energy = carbon_energy(nc)
        await Worker(ctx, nc).run(stop, max_jobs)
    finally:
        await nc.close()


def carbon_energy(nc: Client) -> JobEnergy | None:
    """The carbon service's per-job reporter (EmissionsMeasured every N s and at the end), or None if it cannot load."""
    try:
        from services.carbon.metering import JobEnergyReporter

        return JobEnergyReporter.for_process(nc)
    except Exception as exc:  # a broken meter must not stop training, but it must be visible
        get_logger("trainer").error("jobs will run without energy measurement", error=repr(exc))
        return None
