"""`rpc.inference.*` handlers (listed in services/inference/adapters/rpc.py): ask the engine host,
answer. One method each; errors are InferenceErrors with their codes, and nothing a caller sends
can stop the service.

A stream sends its chunks to the caller's reply subject, probes the caller now and then and aborts
the generation once the caller no longer answers.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats.errors
from nats.aio.client import Client

from contracts import Actor
from services.inference import protocol as wire
from services.inference.domain import (
    AdapterSource,
    InvalidRequestError,
    ModelSource,
    UnknownAdapterError,
    UnknownModelError,
)
from services.inference.host import EngineHost
from services.inference.ports import TokenDelta
from services.inference.serving import RequestRunner
from services.runtime import access
from services.runtime.artifacts import ArtifactError, ArtifactStore
from services.runtime.logging import get_logger

PROBE_TIMEOUT = 5.0  # seconds a stream caller has to answer a probe before it counts as gone


class InferenceHandlers:
    def __init__(self, nc: Client, host: EngineHost, runner: RequestRunner, store: ArtifactStore) -> None:
        self.nc = nc
        self.host = host
        self.runner = runner
        self.store = store
        self.settings = host.settings
        self.log = get_logger("inference.rpc")

    async def generate(self, request: wire.GenerateRequest) -> wire.Completion:
        """One prompt (text or chat turns), one completion."""
        await self._may_use(request)
        return await self.runner.generate(request, request, time.monotonic())

    async def batch(self, request: wire.BatchRequest) -> list[wire.Completion]:
        """Several prompts for one model, answered together."""
        await self._may_use(request)
        if len(request.inputs) > self.settings.max_batch:
            raise InvalidRequestError(
                f"a batch holds at most {self.settings.max_batch} inputs, this one has {len(request.inputs)}: split it"
            )
        return await self.runner.batch(request, request.inputs, time.monotonic())

    async def stream(self, request: wire.GenerateRequest, inbox: str) -> None:
        """Token chunks to the reply subject as they are generated, then the `end` chunk."""
        received_at = time.monotonic()
        await self._may_use(request)
        if not await self._listening(inbox):
            return
        index = 0

        async def send_chunk(delta: TokenDelta) -> None:
            nonlocal index
            await self._send(
                inbox, wire.StreamChunk(kind="chunk", index=index, text=delta.text, token_ids=delta.token_ids)
            )
            index += 1

        generation = asyncio.create_task(self.runner.generate(request, request, received_at, "stream", send_chunk))
        watchdog = asyncio.create_task(self._watch(inbox, generation))
        try:
            completion = await generation
        except asyncio.CancelledError:
            self.log.info("stream caller went away, generation aborted", subject=inbox)
            return
        finally:
            watchdog.cancel()
        await self._send(inbox, wire.StreamChunk(kind="end", index=index, completion=completion))

    async def _watch(self, inbox: str, generation: asyncio.Task[Any]) -> None:
        while not generation.done():
            await asyncio.sleep(self.settings.stream_probe_seconds)
            if not await self._listening(inbox):
                generation.cancel()
                return

    async def _listening(self, inbox: str) -> bool:
        probe = wire.StreamChunk(kind="probe").model_dump_json().encode()
        try:
            await self.nc.request(inbox, probe, timeout=PROBE_TIMEOUT)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            return False
        return True

    async def _send(self, subject: str, chunk: wire.StreamChunk) -> None:
        await self.nc.publish(subject, chunk.model_dump_json().encode())

    async def load(self, request: wire.LoadRequest) -> list[dict[str, Any]]:
        """Load a model (and an adapter on it), registering their locations; the engines' status."""
        if request.source is not None:
            source, owner = request.source, request.owner if request.adapter is None else None
            await self.host.catalog.add_model(ModelSource(request.model, self._key(source), source.sha256, owner))
        if request.adapter_source is not None:
            if request.adapter is None:
                raise InvalidRequestError("adapter_source given without `adapter` (the adapter's name)")
            found = request.adapter_source
            adapter = AdapterSource(request.adapter, request.model, self._key(found), found.sha256, request.owner)
            await self.host.catalog.add_adapter(adapter)
        loaded = await self.host.resident(request.model)
        if request.adapter is not None:
            await self.host.adapter(loaded, request.adapter)
        return self.host.status()

    def _key(self, location: wire.ArtifactLocation) -> str:
        if location.key is not None:
            return location.key
        try:
            return self.store.key_of(location.uri or "")
        except ArtifactError as exc:
            raise InvalidRequestError(
                f"source uri {location.uri!r} is not in this engine's artifact store: {exc}"
            ) from exc

    async def unload(self, request: wire.UnloadRequest) -> wire.Unloaded:
        """Unload an idle model."""
        loaded = self.host.models.get(request.model)
        if loaded is not None and loaded.in_flight:
            raise InvalidRequestError(
                f"model {request.model!r} is serving {loaded.in_flight} requests: unload it once they are done"
            )
        return wire.Unloaded(unloaded=await self.host.unload(request.model, "requested"))

    async def models(self, request: wire.ListModels) -> list[dict[str, Any]]:
        """The engines this host runs: models, adapters, requests in flight (what the caller may use)."""
        if request.actor is None or access.sees_all(request.actor):
            return self.host.status()
        shown = []
        for engine in self.host.status():
            if await self._owned_elsewhere(request.actor, str(engine["model"]), None):
                continue
            adapters = [a for a in engine["adapters"] if not await self._owned_elsewhere(request.actor, None, a)]  # type: ignore[attr-defined]
            shown.append({**engine, "adapters": adapters})
        return shown

    async def _may_use(self, request: wire.Target) -> None:
        """Another tenant's version is answered as unknown (its owner was given when it was loaded)."""
        if request.actor is None:
            return
        if request.adapter is not None and await self._owned_elsewhere(request.actor, None, request.adapter):
            raise UnknownAdapterError(f"model {request.model!r} has no adapter {request.adapter!r}")
        if await self._owned_elsewhere(request.actor, request.model, None):
            raise UnknownModelError(f"no model {request.model!r} here")

    async def _owned_elsewhere(self, actor: Actor, model: str | None, adapter: str | None) -> bool:
        source = await (self.host.catalog.adapter(adapter) if adapter else self.host.catalog.model(model or ""))
        return source is not None and source.owner is not None and not access.sees(actor, source.owner)
