"""A small client of `rpc.inference.*` for the CLI, the API gateway, benchmarks and tests.

Errors come back as the service's own exception classes (UnknownModelError, PromptTooLongError...).
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

from services.inference import protocol as rpc
from services.inference.domain import error_for_code

COMPLETIONS = TypeAdapter(list[rpc.Completion])


class InferenceClient:
    def __init__(self, nc: Client, timeout: float = 300.0) -> None:
        self.nc = nc
        self.timeout = timeout  # seconds; the first request for a model waits for its engine to start

    async def _call(self, subject: str, body: rpc.Message) -> Any:
        reply = await self.nc.request(subject, body.model_dump_json(exclude_none=True).encode(), timeout=self.timeout)
        decoded = rpc.Reply.model_validate_json(reply.data)
        if decoded.error is not None:
            raise error_for_code(decoded.error.code, decoded.error.message)
        return decoded.result

    async def generate(self, request: rpc.GenerateRequest) -> rpc.Completion:
        return rpc.Completion.model_validate(await self._call(rpc.GENERATE, request))

    async def batch(self, request: rpc.BatchRequest) -> list[rpc.Completion]:
        return COMPLETIONS.validate_python(await self._call(rpc.BATCH, request))

    async def load(
        self,
        model: str,
        source: rpc.ArtifactLocation | None = None,
        adapter: str | None = None,
        adapter_source: rpc.ArtifactLocation | None = None,
    ) -> list[dict[str, Any]]:
        body = rpc.LoadRequest(model=model, source=source, adapter=adapter, adapter_source=adapter_source)
        return list(await self._call(rpc.LOAD, body))

    async def unload(self, model: str) -> bool:
        return bool((await self._call(rpc.UNLOAD, rpc.UnloadRequest(model=model)))["unloaded"])

    async def models(self) -> list[dict[str, Any]]:
        reply = await self.nc.request(rpc.MODELS, b"{}", timeout=self.timeout)
        return list(rpc.Reply.model_validate_json(reply.data).result)

    async def stream(self, request: rpc.GenerateRequest) -> AsyncIterator[rpc.StreamChunk]:
        """Token chunks as they are generated, then the `end` chunk (with the completion)."""
        chunks: asyncio.Queue[rpc.StreamChunk] = asyncio.Queue()

        async def on_message(msg: Msg) -> None:
            chunk = rpc.StreamChunk.model_validate_json(msg.data)
            if chunk.kind == "probe":
                await msg.respond(b"")  # still listening
            else:
                chunks.put_nowait(chunk)

        inbox = self.nc.new_inbox()
        subscription = await self.nc.subscribe(inbox, cb=on_message)
        try:
            body = request.model_dump_json(exclude_none=True).encode()
            await self.nc.publish(rpc.STREAM, body, reply=inbox)
            while True:
                chunk = await asyncio.wait_for(chunks.get(), self.timeout)
                if chunk.kind == "error" and chunk.error is not None:
                    raise error_for_code(chunk.error.code, chunk.error.message)
                yield chunk
                if chunk.kind == "end":
                    return
        finally:
            await subscription.unsubscribe()


def text_of(chunks: Sequence[rpc.StreamChunk]) -> str:
    return "".join(c.text for c in chunks if c.kind == "chunk")
