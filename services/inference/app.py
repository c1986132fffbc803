"""Wiring of the inference service: settings -> adapters -> engine host -> `rpc.inference.*` handlers.

`python -m services.inference.app` (or `greentune serve-inference`) runs it until SIGINT/SIGTERM;
tests and benchmarks call `start_app` with their own meter, store or engine factory.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field

from faststream.nats import NatsBroker
from nats.aio.client import Client

from services.carbon.config import CarbonSettings
from services.carbon.domain import MeteredSubject
from services.carbon.metering import engine_reporter, process_meter
from services.carbon.reporter import EmissionsReporter
from services.inference.adapters.catalog import MemoryCatalog
from services.inference.adapters.event_queue import QueuedEventSink
from services.inference.adapters.model_cache import StoreCache
from services.inference.adapters.rpc import RPC
from services.inference.adapters.vllm_engine import VllmEngineFactory
from services.inference.config import InferenceSettings
from services.inference.handlers import InferenceHandlers
from services.inference.host import EngineHost
from services.inference.ports import EngineFactory, ModelCatalog
from services.inference.serving import RequestRunner
from services.runtime import rpc
from services.runtime.artifacts import ArtifactSettings, ArtifactStore, open_artifact_store
from services.runtime.energy import EnergyMeter
from services.runtime.jetstream import connect, ensure_stream
from services.runtime.logging import configure_logging, get_logger
from services.runtime.publisher import EventPublisher
from services.runtime.settings import KernelSettings


@dataclass
class InferenceApp:
    nc: Client
    host: EngineHost
    rpc: NatsBroker
    events: QueuedEventSink
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    housekeeping: asyncio.Task[None] | None = None
    energy_reporter: EmissionsReporter | None = None

    async def close(self) -> None:
        """Stop taking requests, finish those in progress, unload the models, publish the last events."""
        self.stop.set()
        await self.rpc.stop()  # lets the requests being answered finish
        if self.housekeeping is not None:
            await self.housekeeping
        await self.host.shutdown()
        await self.events.close()
        if self.energy_reporter is not None:
            await self.energy_reporter.stop()  # the engine's final EmissionsMeasured
        await self.nc.close()


async def start_app(
    settings: InferenceSettings,
    kernel: KernelSettings,
    *,
    store: ArtifactStore | None = None,
    meter: EnergyMeter | None = None,
    factory: EngineFactory | None = None,
    catalog: ModelCatalog | None = None,
) -> InferenceApp:
    nc = await connect(kernel.nats_url, f"inference-{settings.engine_id}", identity="inference")
    await ensure_stream(nc.jetstream(), kernel.stream_replicas)
    store = store or open_artifact_store(ArtifactSettings(), kernel.data_dir)  # GREENTUNE_ARTIFACTS_* settings
    events = QueuedEventSink(EventPublisher(nc), settings.event_queue_size, settings.event_publishers)
    events.start()
    host = EngineHost(
        settings,
        factory or VllmEngineFactory(settings),
        catalog or MemoryCatalog(),
        StoreCache(store, settings.cache_dir),
        events,
    )
    meter = meter if meter is not None else await _meter(settings)
    carbon = CarbonSettings()
    runner = RequestRunner(host, meter, pue=carbon.pue)
    rpc_broker = rpc.broker(nc, RPC, InferenceHandlers(nc, host, runner, store))
    await rpc.start(rpc_broker)
    app = InferenceApp(nc, host, rpc_broker, events)
    app.housekeeping = asyncio.create_task(host.run_housekeeping(app.stop))
    if meter is not None and settings.report_engine_energy:
        app.energy_reporter = engine_reporter(nc, meter, carbon)
        await app.energy_reporter.start(MeteredSubject.engine(settings.engine_id))
    return app


async def _meter(settings: InferenceSettings) -> EnergyMeter | None:
    if settings.energy_meter == "none":
        return None
    return await asyncio.to_thread(process_meter)  # the process's CodeCarbon meter; probes the hardware once


async def serve(settings: InferenceSettings, kernel: KernelSettings) -> None:
    app = await start_app(settings, kernel)
    log = get_logger("inference")
    log.info("inference service ready", engine_id=settings.engine_id, nats=kernel.nats_url, device=settings.device)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, app.stop.set)
    await app.stop.wait()
    await app.close()
    log.info("inference service stopped")


def main() -> None:
    kernel = KernelSettings()
    configure_logging(kernel.log_level)
    asyncio.run(serve(InferenceSettings(), kernel))


if __name__ == "__main__":
    main()
