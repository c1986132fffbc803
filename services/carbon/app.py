"""Wiring of the carbon service: settings -> read model + projection -> handlers -> RPC, then run.

async with CarbonService.open(nc, settings, kernel, store) as service:
    await service.run(stop)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.stream import STREAM_NAME
from services.carbon.adapters.rpc import RPC
from services.carbon.config import CarbonSettings
from services.carbon.handlers import CarbonHandlers
from services.carbon.view import CARBON_FILTERS, CarbonView
from services.runtime import rpc
from services.runtime.artifacts import ArtifactStore
from services.runtime.jetstream import ensure_stream
from services.runtime.projection import ProjectionRunner
from services.runtime.publisher import EventPublisher
from services.runtime.settings import KernelSettings

DURABLE = "carbon-view"


@dataclass
class CarbonService:
    view: CarbonView
    projection: ProjectionRunner
    handlers: CarbonHandlers
    rpc: NatsBroker

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, nc: Client, settings: CarbonSettings, kernel: KernelSettings, store: ArtifactStore | None = None
    ) -> AsyncIterator[CarbonService]:
        await ensure_stream(nc.jetstream(), kernel.stream_replicas)  # it may start before any other service
        view = CarbonView.open(settings.view_path or kernel.data_dir / "views" / "carbon.sqlite")
        await _drop_consumer_with_other_filters(nc.jetstream())
        projection = ProjectionRunner(nc, view, durable=DURABLE, filter_subjects=CARBON_FILTERS)
        handlers = CarbonHandlers(view, EventPublisher(nc), store)
        service = cls(view, projection, handlers, rpc.broker(nc, RPC, handlers))
        await projection.start()
        await rpc.start(service.rpc)
        try:
            yield service
        finally:
            await service.rpc.stop()

    async def catch_up(self) -> None:
        """Apply everything the stream holds now, then do the side effects."""
        await self.projection.catch_up()
        await self.handlers.after_batch()

    async def run(self, stop: asyncio.Event) -> None:
        """Apply events as they arrive, with their side effects, until `stop` is set."""
        pending = True  # side effects still to do (a failed export or publish is retried)
        while not stop.is_set():
            try:
                pending = bool(await self.projection.process_batch()) or pending
                if pending:
                    await self.handlers.after_batch()
                    pending = False
            except Exception:  # logged where it happened; the read model stays up
                await asyncio.sleep(1.0)


async def _drop_consumer_with_other_filters(js: JetStreamContext) -> None:
    """A consumer left by an older release reads fewer event types: drop it, so the projection makes
    one with today's filters from the view's position (the new types have no older events)."""
    try:
        info = await js.consumer_info(STREAM_NAME, DURABLE)
    except NotFoundError:
        return
    if sorted(info.config.filter_subjects or [info.config.filter_subject or ""]) != sorted(CARBON_FILTERS):
        await js.delete_consumer(STREAM_NAME, DURABLE)
