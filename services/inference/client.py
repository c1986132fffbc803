"""A small client of `rpc.inference.*` for the CLI, the API gateway, benchmarks and tests.

Errors come back as the service's own exception classes (UnknownModelError, PromptTooLongError...),
or as RpcFailed with the service's problem for a code without a class here.
`stream` answers the service's probes from the subscription callback, so a slow consumer is not
taken for a gone one; leaving the `async for` early unsubscribes, and the service aborts the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import TypeAdapter

from contracts import Actor
from services.inference import protocol as wire
from services.inference.adapters.rpc import RPC
from services.inference.domain import error_for_code
from services.runtime import rpc

STREAM_MESSAGE = TypeAdapter(wire.StreamChunk | rpc.Reply[None])  # a chunk, or the failed reply


def _raised(exc: rpc.RpcFailed) -> Exception:
    return error_for_code(exc.error_code(), str(exc)) or exc


class InferenceClient:
    def __init__(self, nc: Client, timeout: float = 300.0) -> None:
        self.nc = nc
        self.timeout = timeout  # seconds; the first request for a model waits for its engine to start

    async def _call(self, name: str, body: wire.Message) -> Any:
        try:
            return await rpc.call(self.nc, RPC.subject(name), body, RPC.route(name).reply, self.timeout, "inference")
        except rpc.RpcFailed as exc:
            raise _raised(exc) from None

    async def generate(self, request: wire.GenerateRequest) -> wire.Completion:
        return await self._call("generate", request)  # type: ignore[no-any-return]

    async def batch(self, request: wire.BatchRequest) -> list[wire.Completion]:
        return list(await self._call("batch", request))

    async def load(
        self,
        model: str,
        source: wire.ArtifactLocation | None = None,
        adapter: str | None = None,
        adapter_source: wire.ArtifactLocation | None = None,
        owner: str | None = None,
    ) -> list[wire.EngineStatus]:
        body = wire.LoadRequest(model=model, source=source, adapter=adapter, adapter_source=adapter_source, owner=owner)
        return list(await self._call("load", body))

    async def unload(self, model: str) -> bool:
        return bool((await self._call("unload", wire.UnloadRequest(model=model))).unloaded)

    async def models(self, actor: Actor | None = None) -> list[wire.EngineStatus]:
        """The engines, with what `actor` may use (None: everything)."""
        return list(await self._call("models", wire.ListModels(actor=actor)))

    async def stream(self, request: wire.GenerateRequest) -> AsyncIterator[wire.StreamChunk]:
        """Token chunks as they are generated, then the `end` chunk (with the completion)."""
        chunks: asyncio.Queue[wire.StreamChunk | rpc.Reply[None]] = asyncio.Queue()

        async def on_message(msg: Msg) -> None:
            chunk = STREAM_MESSAGE.validate_json(msg.data)
            if isinstance(chunk, wire.StreamChunk) and chunk.kind == "probe":
                await msg.respond(b"")  # still listening
            else:
                chunks.put_nowait(chunk)

        inbox = self.nc.new_inbox()
        subscription = await self.nc.subscribe(inbox, cb=on_message)
        try:
            body = request.model_dump_json(exclude_none=True).encode()
            await self.nc.publish(RPC.subject("stream"), body, reply=inbox)
            while True:
                chunk = await asyncio.wait_for(chunks.get(), self.timeout)
                if isinstance(chunk, rpc.Reply):
                    assert chunk.error is not None
                    raise _raised(rpc.RpcFailed(chunk.error))
                yield chunk
                if chunk.kind == "end":
                    return
        finally:
            await subscription.unsubscribe()


def text_of(chunks: Sequence[wire.StreamChunk]) -> str:
    return "".join(c.text for c in chunks if c.kind == "chunk")
