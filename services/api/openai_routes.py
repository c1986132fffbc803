"""`/v1`: the OpenAI-compatible routes (models, chat completions, completions), streaming as SSE.

A stream's first chunk is awaited before the response starts, so an unknown model or a bad
parameter still gets its HTTP error status; a client that disconnects mid-stream closes the
generator, which unsubscribes, and the inference service aborts the generation.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, format_sse_event

from services.api import translate
from services.api.dependencies import Caller, CappedCaller, Inference
from services.api.errors import OPENAI_RESPONSES, openai_error
from services.api.openai_wire import ChatCompletionRequest, CommonFields, CompletionRequest
from services.inference import protocol as wire
from services.inference.client import InferenceClient
from services.inference.domain import InferenceError

router = APIRouter(prefix="/v1", responses=OPENAI_RESPONSES)


@router.get("/models")
async def list_models(client: Inference, actor: Caller) -> dict[str, Any]:
    """Every loaded model, and each of its LoRA adapters as `<model>:<adapter>` (another tenant's
    fine-tuned versions left out)."""
    created = int(time.time())
    ids = []
    for loaded in await client.models(actor):
        ids.append(translate.model_id(loaded.model))
        ids.extend(translate.model_id(loaded.model, adapter) for adapter in loaded.adapters)
    return {
        "object": "list",
        "data": [{"id": i, "object": "model", "created": created, "owned_by": "greentune"} for i in ids],
    }


@router.post("/chat/completions", response_model=None)
async def chat_completions(body: ChatCompletionRequest, client: Inference, actor: CappedCaller, http: Request) -> Any:
    response_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    request = translate.chat_request(body, actor, response_id)
    served = partial(http.app.state.metrics.served, body.model, actor)
    if body.stream:
        return await _stream(client, request, body, served, chat=True, response_id=response_id, created=created)
    completion = await client.generate(request)
    served([completion])
    return JSONResponse(translate.chat_completion(completion, body.model, response_id, created))


@router.post("/completions", response_model=None)
async def completions(body: CompletionRequest, client: Inference, actor: CappedCaller, http: Request) -> Any:
    """One prompt, or a list of prompts answered as one batch (choices in the prompts' order)."""
    response_id, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
    served = partial(http.app.state.metrics.served, body.model, actor)
    if body.stream:
        request = translate.completion_generate(body, actor, response_id)
        return await _stream(client, request, body, served, chat=False, response_id=response_id, created=created)
    if isinstance(body.prompt, str):
        done = [await client.generate(translate.completion_generate(body, actor, response_id))]
    else:
        done = await client.batch(translate.completion_batch(body, actor, response_id))
    served(done)
    return JSONResponse(translate.text_completion(done, body.model, response_id, created))


async def _stream(
    client: InferenceClient,
    request: wire.GenerateRequest,
    body: CommonFields,
    served: Callable[[list[wire.Completion]], None],
    chat: bool,
    response_id: str,
    created: int,
) -> EventSourceResponse:
    chunks = aiter(client.stream(request))
    first = await anext(chunks)  # errors before any output become HTTP errors
    include_usage = body.stream_options is not None and body.stream_options.include_usage

    def event(data: dict[str, Any]) -> bytes:
        return format_sse_event(data_str=json.dumps(data, separators=(",", ":")))

    async def events() -> AsyncIterator[bytes]:
        chunk, opening = first, True
        try:
            while True:
                yield event(translate.stream_chunk(chunk, chat, body.model, response_id, created, opening))
                opening = False
                if chunk.kind == "end":
                    if chunk.completion is not None:
                        served([chunk.completion])
                    if include_usage and chunk.completion is not None:
                        yield event(translate.usage_chunk(chunk.completion, chat, body.model, response_id, created))
                    yield format_sse_event(data_str="[DONE]")
                    return
                chunk = await anext(chunks)
        except InferenceError as exc:  # after the 200 went out: OpenAI's in-stream error event
            yield event(openai_error(str(exc), 500, exc.code))
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]

    return EventSourceResponse(events())
