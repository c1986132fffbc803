"""Wiring of the registry service: settings -> adapters -> handlers -> consumers, relay and RPC.

Three durable consumers: `registry-reactions` (ModelExported, final EmissionsMeasured: register and
update), `registry-verifier` (our ModelRegistered: verify, one at a time, with a long ack wait) and
`registry-catalogue` (the read model). The outbox relay publishes the Model events.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass, field

from faststream.nats import NatsBroker
from nats.aio.client import Client

from contracts.subjects import type_filter
from services.registry.adapters.answer_engine import SubprocessAnswerEngine
from services.registry.adapters.event_history import JetStreamHistory
from services.registry.adapters.reactions import Reactions
from services.registry.adapters.rpc import RPC, RegistryHandlers
from services.registry.config import RegistrySettings
from services.registry.event_store import RegistryEventStore
from services.registry.handlers import Registry
from services.registry.ports import AnswerEngine
from services.registry.read_model import FILTER_SUBJECTS, RegistryView
from services.registry.verifier import Verifier
from services.runtime import rpc
from services.runtime.artifacts import ArtifactSettings, ArtifactStore, open_artifact_store
from services.runtime.jetstream import connect, ensure_stream
from services.runtime.outbox import OutboxRelay
from services.runtime.projection import ProjectionRunner
from services.runtime.settings import KernelSettings

REACTIONS = (type_filter("ModelExported", aggregate_type="job"), type_filter("EmissionsMeasured", aggregate_type="job"))
REGISTERED = (type_filter("ModelRegistered", producer="registry", aggregate_type="model"),)


@dataclass
class RegistryService:
    nc: Client
    registry: Registry
    view: RegistryView
    runners: dict[str, ProjectionRunner]
    relay: OutboxRelay
    rpc: NatsBroker
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self, stop: asyncio.Event) -> None:
        stop.set()
        await self.rpc.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.nc.close()


async def start_registry(
    stop: asyncio.Event,
    kernel: KernelSettings | None = None,
    settings: RegistrySettings | None = None,
    artifacts: ArtifactStore | None = None,
    engine: AnswerEngine | None = None,
) -> RegistryService:
    kernel, settings = kernel or KernelSettings(), settings or RegistrySettings()
    artifacts = artifacts or open_artifact_store(ArtifactSettings(), kernel.data_dir)
    state, work = kernel.data_dir / "registry", settings.work_dir or kernel.data_dir / "registry-work"
    nc = await connect(kernel.nats_url, "registry", identity="registry")
    await ensure_stream(nc.jetstream(), kernel.stream_replicas)
    store = RegistryEventStore(kernel)
    history = JetStreamHistory(nc, asyncio.get_running_loop())
    engine = engine or SubprocessAnswerEngine(settings.verify_timeout_seconds, settings.runtime_kv_cache_mib, work)
    verifier = Verifier(artifacts, history, engine, settings, work) if settings.verify else None
    registry = Registry(store, artifacts, history, verifier, settings.match_threshold)
    view = RegistryView.open(state / "catalogue.sqlite")
    reactions = Reactions.for_handler("registry_reactions", state / "reactions.sqlite", registry.on_event)
    verifying = Reactions.for_handler("registry_verifier", state / "verifier.sqlite", registry.on_registered)
    verify_wait = settings.verify_timeout_seconds + 60  # seconds a verification may hold its message
    runners = {
        "reactions": ProjectionRunner(
            nc, reactions, durable="registry-reactions", filter_subjects=REACTIONS, batch_size=1
        ),
        "verifier": ProjectionRunner(
            nc, verifying, durable="registry-verifier", filter_subjects=REGISTERED, batch_size=1, ack_wait=verify_wait
        ),
        "catalogue": ProjectionRunner(nc, view, durable="registry-catalogue", filter_subjects=FILTER_SUBJECTS),
    }
    relay = OutboxRelay(store, nc)
    handlers = RegistryHandlers(registry, view, settings.retention_days)
    rpc_broker = rpc.broker(nc, RPC, handlers)
    await rpc.start(rpc_broker)
    service = RegistryService(nc, registry, view, runners, relay, rpc_broker)
    service.tasks = [asyncio.create_task(relay.run(stop))]
    service.tasks += [asyncio.create_task(runner.run(stop)) for runner in runners.values()]
    return service


async def serve() -> None:
    """Run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    service = await start_registry(stop)
    with contextlib.suppress(asyncio.CancelledError):
        await stop.wait()
    await service.stop(stop)


if __name__ == "__main__":
    asyncio.run(serve())
