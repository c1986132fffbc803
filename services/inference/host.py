"""The engine host: which models are loaded and which adapters they serve.

Models come from the catalogue (a load request may register a location first), are copied into
the verified local cache and started by the engine factory. At most `max_loaded_models` stay
loaded: the least recently used idle one makes room, and idle ones are unloaded after
`idle_unload_seconds`. Adapters are added to their base model's engine while it serves. Loads and
unloads publish ModelLoaded/ModelUnloaded; requests themselves run in serving.py.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from contracts import Actor, DomainEvent, Envelope
from contracts.events.models import ModelLoaded, ModelUnloaded
from services.inference.config import InferenceSettings
from services.inference.domain import (
    AdapterBaseMismatchError,
    AdapterHandle,
    ModelLoadError,
    UnknownAdapterError,
    UnknownModelError,
)
from services.inference.ports import EngineFactory, EventQueue, ModelCache, ModelCatalog, TextEngine
from services.inference.residency import Resident, eviction_candidate, idle_expired
from services.runtime.logging import get_logger

PRODUCER = "inference"
SYSTEM = Actor(kind="system", id="inference")
UnloadReason = Literal["evicted", "idle", "shutdown", "failed", "requested"]


@dataclass
class LoadedModel:
    name: str
    engine: TextEngine
    last_used: float
    in_flight: int = 0
    adapters: dict[str, AdapterHandle] = field(default_factory=dict)
    adapter_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class EngineHost:
    def __init__(
        self,
        settings: InferenceSettings,
        factory: EngineFactory,
        catalog: ModelCatalog,
        cache: ModelCache,
        events: EventQueue,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.catalog = catalog
        self.cache = cache
        self.events = events
        self.models: dict[str, LoadedModel] = {}
        self._load_lock = asyncio.Lock()  # one engine starts at a time: residency decisions stay consistent
        self._adapter_ids = itertools.count(1)
        self.log = get_logger("inference.host")

    # -- residency ---------------------------------------------------------------------------

    async def resident(self, name: str) -> LoadedModel:
        """The loaded model `name`, loading it (and making room) if needed."""
        loaded = self.models.get(name)
        if loaded is None:
            async with self._load_lock:
                loaded = self.models.get(name) or await self._load(name)
        loaded.last_used = time.monotonic()
        return loaded

    async def _load(self, name: str) -> LoadedModel:
        source = await self.catalog.model(name)
        if source is None:
            raise UnknownModelError(
                f"model {name!r} is not loaded and the catalogue does not know it: load it first with its "
                "artifact location (rpc.inference.load / `greentune inference load`)"
            )
        folder = await self.cache.fetch(source.key, source.sha256)
        victim = eviction_candidate(self._residents(), self.settings.max_loaded_models)
        if victim is not None:
            await self.unload(victim, "evicted")
        adapters = await self._adapter_folders(name)
        started = time.monotonic()
        engine = await self.factory.start(name, folder, adapters)
        loaded = LoadedModel(name, engine, time.monotonic())
        self.models[name] = loaded
        seconds = time.monotonic() - started
        self.log.info("model loaded", model=name, engine=engine.description, load_seconds=round(seconds, 2))
        await self.emit(ModelLoaded(model=name, engine=engine.description, load_seconds=seconds))
        return loaded

    async def _adapter_folders(self, name: str) -> list[Path]:
        """The adapters known for model `name`, fetched now so that its engine is sized for them (they are
        needed next anyway); one that cannot be fetched is left out here and refused when asked for."""
        folders = []
        for source in await self.catalog.adapters_of(name):
            try:
                folders.append(await self.cache.fetch(source.key, source.sha256))
            except ModelLoadError as exc:  # CorruptModelError included
                self.log.warning("adapter not fetched; engine sized without it", adapter=source.name, error=str(exc))
        return folders

    def _residents(self) -> list[Resident]:
        return [Resident(m.name, m.last_used, m.in_flight) for m in self.models.values()]

    async def unload(self, name: str, reason: UnloadReason) -> bool:
        loaded = self.models.pop(name, None)
        if loaded is None:
            return False
        await loaded.engine.shutdown()
        self.log.info("model unloaded", model=name, reason=reason)
        await self.emit(ModelUnloaded(model=name, reason=reason))
        return True

    async def unload_idle(self) -> list[str]:
        names = idle_expired(self._residents(), time.monotonic(), self.settings.idle_unload_seconds)
        for name in names:
            await self.unload(name, "idle")
        return names

    async def run_housekeeping(self, stop: asyncio.Event) -> None:
        period = min(30.0, self.settings.idle_unload_seconds / 4)  # seconds between idle checks
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), period)
            except TimeoutError:
                try:
                    await self.unload_idle()
                except Exception:  # an engine that fails to stop must not end the idle checks
                    self.log.exception("idle unload failed")

    async def engine_failed(self, loaded: LoadedModel) -> None:
        """Unload a model whose engine died; the next request for it starts a fresh engine."""
        if self.models.get(loaded.name) is loaded:
            self.log.error("engine failed, unloading it", model=loaded.name)
            await self.unload(loaded.name, "failed")

    async def shutdown(self) -> None:
        for name in list(self.models):
            await self.unload(name, "shutdown")

    async def adapter(self, loaded: LoadedModel, name: str) -> AdapterHandle:
        """The adapter `name` on `loaded`'s engine, added to it on first use (no restart)."""
        async with loaded.adapter_lock:
            if name in loaded.adapters:
                return loaded.adapters[name]
            source = await self.catalog.adapter(name)
            if source is None:
                raise UnknownAdapterError(
                    f"adapter {name!r} is unknown: load it with its artifact location "
                    f"(rpc.inference.load with model {loaded.name!r}, adapter and adapter_source)"
                )
            if source.base_model != loaded.name:
                raise AdapterBaseMismatchError(
                    f"adapter {name!r} was trained on {source.base_model!r}, not {loaded.name!r}: "
                    f"ask for model {source.base_model!r}"
                )
            started = time.monotonic()
            folder = await self.cache.fetch(source.key, source.sha256)
            handle = AdapterHandle(name, next(self._adapter_ids), folder)
            await loaded.engine.add_adapter(handle)
            loaded.adapters[name] = handle
        seconds = time.monotonic() - started
        description = loaded.engine.description
        await self.emit(ModelLoaded(model=loaded.name, adapter=name, engine=description, load_seconds=seconds))
        return handle

    def status(self) -> list[dict[str, object]]:
        return [
            {"model": m.name, "engine": m.engine.description, "adapters": sorted(m.adapters), "in_flight": m.in_flight}
            for m in self.models.values()
        ]

    async def emit(self, event: DomainEvent, actor: Actor | None = None, correlation_id: str | None = None) -> None:
        envelope = Envelope.new(
            event,
            producer=PRODUCER,
            aggregate_id=self.settings.engine_id,
            actor=actor or SYSTEM,
            correlation_id=correlation_id,
        )
        await self.events.emit(envelope)
