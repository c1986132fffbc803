"""OpenAI bodies to `rpc.inference.*` requests, and completions back to OpenAI's response shapes.

Pure functions, no I/O. Model ids are `<model>` or `<model>:<adapter>` (model and adapter names
are letters, digits, `_` and `-`, so the colon is never part of a name).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from contracts import Actor
from services.api.openai_wire import ChatCompletionRequest, CommonFields, CompletionRequest
from services.inference import protocol as wire
from services.inference.domain import InvalidSamplingError, SamplingSettings, describe

SAMPLING_FIELDS = (
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "min_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
)


def model_id(model: str, adapter: str | None = None) -> str:
    return f"{model}:{adapter}" if adapter else model


def split_model_id(value: str) -> tuple[str, str | None]:
    model, _, adapter = value.partition(":")
    return model, adapter or None


def sampling_of(request: CommonFields, max_tokens: int | None) -> SamplingSettings:
    """The request's sampling settings; InvalidSamplingError naming each bad field as the caller sent it."""
    given: dict[str, Any] = {name: getattr(request, name) for name in SAMPLING_FIELDS}
    given["max_tokens"] = max_tokens
    if given["top_k"] == -1:  # vLLM's spelling of "no limit"
        given["top_k"] = 0
    if isinstance(given["stop"], str):
        given["stop"] = [given["stop"]]
    try:
        return SamplingSettings.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        raise InvalidSamplingError(f"invalid sampling parameters: {describe(exc.errors(), '')}") from None


def _target(request: CommonFields, actor: Actor, request_id: str, max_tokens: int | None) -> dict[str, Any]:
    model, adapter = split_model_id(request.model)
    return {
        "model": model,
        "adapter": adapter,
        "sampling": sampling_of(request, max_tokens),
        "request_id": request_id,
        "actor": actor,
    }


def chat_request(request: ChatCompletionRequest, actor: Actor, request_id: str) -> wire.GenerateRequest:
    messages = tuple(
        wire.ChatMessage(role="system" if turn.role == "developer" else turn.role, content=turn.text)
        for turn in request.messages
    )
    max_tokens = request.max_completion_tokens or request.max_tokens
    return wire.GenerateRequest(messages=messages, **_target(request, actor, request_id, max_tokens))


def completion_generate(request: CompletionRequest, actor: Actor, request_id: str) -> wire.GenerateRequest:
    return wire.GenerateRequest(prompt=request.prompts[0], **_target(request, actor, request_id, request.max_tokens))


def completion_batch(request: CompletionRequest, actor: Actor, request_id: str) -> wire.BatchRequest:
    inputs = tuple(wire.PromptInput(prompt=prompt) for prompt in request.prompts)
    return wire.BatchRequest(inputs=inputs, **_target(request, actor, request_id, request.max_tokens))


def finish_reason(completion: wire.Completion) -> str:
    return "length" if completion.finish_reason == "length" else "stop"


ENERGY_METHOD = "share of the engine's metered energy, split by tokens, PUE included"


def usage(completions: list[wire.Completion]) -> dict[str, Any]:
    """OpenAI's token counts, and (extra fields OpenAI clients ignore) the request's energy, as its
    InferenceCompleted records it, with how it was measured."""
    prompt = sum(c.prompt_tokens for c in completions)
    generated = sum(c.completion_tokens for c in completions)
    total = prompt + generated
    counted: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": generated, "total_tokens": total}
    shares = [c.energy_kwh for c in completions if c.energy_kwh is not None]
    if shares:
        counted |= {"energy_kwh": sum(shares), "energy_method": ENERGY_METHOD}
    return counted


def chat_completion(completion: wire.Completion, model: str, response_id: str, created: int) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": completion.text},
                "finish_reason": finish_reason(completion),
                "logprobs": None,
            }
        ],
        "usage": usage([completion]),
    }


def text_completion(completions: list[wire.Completion], model: str, response_id: str, created: int) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": i, "text": c.text, "finish_reason": finish_reason(c), "logprobs": None}
            for i, c in enumerate(completions)
        ],
        "usage": usage(completions),
    }


def stream_chunk(
    chunk: wire.StreamChunk, chat: bool, model: str, response_id: str, created: int, first: bool
) -> dict[str, Any]:
    """One streamed piece: a text delta (chunk) or the closing one with the finish reason (end)."""
    done = chunk.completion if chunk.kind == "end" else None
    reason = finish_reason(done) if done is not None else None
    if chat:
        delta: dict[str, Any] = {"role": "assistant"} if first else {}
        if chunk.text:
            delta["content"] = chunk.text
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": reason, "logprobs": None}
    else:
        choice = {"index": 0, "text": chunk.text, "finish_reason": reason, "logprobs": None}
    kind = "chat.completion.chunk" if chat else "text_completion"
    return {"id": response_id, "object": kind, "created": created, "model": model, "choices": [choice]}


def usage_chunk(completion: wire.Completion, chat: bool, model: str, response_id: str, created: int) -> dict[str, Any]:
    """The last streamed piece when `stream_options.include_usage` is set: no choices, the usage."""
    kind = "chat.completion.chunk" if chat else "text_completion"
    return {
        "id": response_id,
        "object": kind,
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage([completion]),
    }
