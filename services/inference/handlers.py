"""`rpc.inference.*` handlers: decode the request, ask the engine host, reply. One function each.

Each request runs in its own task (nats-py calls a subscription's callback one message at a
time). Errors become `Reply(ok=False)` with the error's code; nothing a caller sends can stop
the service. A stream probes its caller now and then and aborts the generation once the caller
no longer answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from services.inference import protocol as rpc
from services.inference.domain import AdapterSource, InferenceError, InvalidRequestError, ModelSource
from services.inference.host import EngineHost
from services.inference.ports import TokenDelta
from services.inference.serving import RequestRunner
from services.runtime.artifacts import ArtifactError, ArtifactStore
from services.runtime.logging import get_logger
from services.runtime.rpc import subscriptions_registered

PROBE_TIMEOUT = 5.0  # seconds a stream caller has to answer a probe before it counts as gone

Handler = Callable[[Msg, float], Awaitable[Any]]


class RpcHandlers:
    def __init__(self, nc: Client, host: EngineHost, runner: RequestRunner, store: ArtifactStore) -> None:
        self.nc = nc
        self.host = host
        self.runner = runner
        self.store = store
        self.settings = host.settings
        self._tasks: set[asyncio.Task[None]] = set()
        self.log = get_logger("inference.rpc")

    async def subscribe(self) -> list[Subscription]:
        routes: dict[str, Handler] = {
            rpc.GENERATE: self.generate,
            rpc.BATCH: self.batch,
            rpc.STREAM: self.stream,
            rpc.LOAD: self.load,
            rpc.UNLOAD: self.unload,
            rpc.MODELS: self.models,
        }
        subscriptions = [
            await self.nc.subscribe(s, queue=rpc.QUEUE_GROUP, cb=self._spawner(h)) for s, h in routes.items()
        ]
        await subscriptions_registered(self.nc)  # requests from other connections find us once this returns
        return subscriptions

    def _spawner(self, handler: Handler) -> Callable[[Msg], Awaitable[None]]:
        async def spawn(msg: Msg) -> None:
            task = asyncio.create_task(self._answer(handler, msg, time.monotonic()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return spawn

    async def _answer(self, handler: Handler, msg: Msg, received_at: float) -> None:
        try:
            reply = rpc.Reply(ok=True, result=await handler(msg, received_at))
        except InferenceError as exc:
            reply = rpc.Reply(ok=False, error=rpc.ErrorInfo(code=exc.code, message=str(exc)))
        except Exception as exc:
            self.log.exception("request failed", subject=msg.subject)
            reply = rpc.Reply(ok=False, error=rpc.ErrorInfo(code="internal", message=f"{type(exc).__name__}: {exc}"))
        if msg.reply and msg.subject != rpc.STREAM:
            await msg.respond(reply.model_dump_json().encode())
        elif msg.reply and reply.error is not None:
            await self._send(msg.reply, rpc.StreamChunk(kind="error", error=reply.error))

    async def generate(self, msg: Msg, received_at: float) -> Any:
        request = rpc.parse(rpc.GenerateRequest, msg.data)
        return await self.runner.generate(request, request, received_at)

    async def batch(self, msg: Msg, received_at: float) -> Any:
        request = rpc.parse(rpc.BatchRequest, msg.data)
        if len(request.inputs) > self.settings.max_batch:
            raise InvalidRequestError(
                f"a batch holds at most {self.settings.max_batch} inputs, this one has {len(request.inputs)}: split it"
            )
        return await self.runner.batch(request, request.inputs, received_at)

    async def stream(self, msg: Msg, received_at: float) -> None:
        if not msg.reply:
            raise InvalidRequestError("a stream request needs a reply subject (use request/reply or an inbox)")
        request = rpc.parse(rpc.GenerateRequest, msg.data)
        if not await self._listening(msg.reply):
            return
        index = 0

        async def send_chunk(delta: TokenDelta) -> None:
            nonlocal index
            chunk = rpc.StreamChunk(kind="chunk", index=index, text=delta.text, token_ids=delta.token_ids)
            await self._send(msg.reply, chunk)
            index += 1

        generation = asyncio.create_task(self.runner.generate(request, request, received_at, "stream", send_chunk))
        watchdog = asyncio.create_task(self._watch(msg.reply, generation))
        try:
            completion = await generation
        except asyncio.CancelledError:
            self.log.info("stream caller went away, generation aborted", subject=msg.reply)
            return
        finally:
            watchdog.cancel()
        await self._send(msg.reply, rpc.StreamChunk(kind="end", index=index, completion=completion))

    async def _watch(self, inbox: str, generation: asyncio.Task[Any]) -> None:
        while not generation.done():
            await asyncio.sleep(self.settings.stream_probe_seconds)
            if not await self._listening(inbox):
                generation.cancel()
                return

    async def _listening(self, inbox: str) -> bool:
        probe = rpc.StreamChunk(kind="probe").model_dump_json().encode()
        try:
            await self.nc.request(inbox, probe, timeout=PROBE_TIMEOUT)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            return False
        return True

    async def _send(self, subject: str, chunk: rpc.StreamChunk) -> None:
        await self.nc.publish(subject, chunk.model_dump_json().encode())

    async def load(self, msg: Msg, received_at: float) -> Any:
        request = rpc.parse(rpc.LoadRequest, msg.data)
        if request.source is not None:
            source = request.source
            await self.host.catalog.add_model(ModelSource(request.model, self._key(source), source.sha256))
        if request.adapter_source is not None:
            if request.adapter is None:
                raise InvalidRequestError("adapter_source given without `adapter` (the adapter's name)")
            found = request.adapter_source
            adapter = AdapterSource(request.adapter, request.model, self._key(found), found.sha256)
            await self.host.catalog.add_adapter(adapter)
        loaded = await self.host.resident(request.model)
        if request.adapter is not None:
            await self.host.adapter(loaded, request.adapter)
        return self.host.status()

    def _key(self, location: rpc.ArtifactLocation) -> str:
        if location.key is not None:
            return location.key
        try:
            return self.store.key_of(location.uri or "")
        except ArtifactError as exc:
            raise InvalidRequestError(
                f"source uri {location.uri!r} is not in this engine's artifact store: {exc}"
            ) from exc

    async def unload(self, msg: Msg, received_at: float) -> Any:
        request = rpc.parse(rpc.UnloadRequest, msg.data)
        loaded = self.host.models.get(request.model)
        if loaded is not None and loaded.in_flight:
            raise InvalidRequestError(
                f"model {request.model!r} is serving {loaded.in_flight} requests: unload it once they are done"
            )
        return {"unloaded": await self.host.unload(request.model, "requested")}

    async def models(self, msg: Msg, received_at: float) -> Any:
        return self.host.status()

    async def drain(self) -> None:
        """Wait for the requests in progress (used at shutdown)."""
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
