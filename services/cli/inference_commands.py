"""`greentune inference ...`: run the inference service, load models into it, chat with them.

Talks to the service over NATS ($GREENTUNE_NATS_URL) through services.inference.client; the
service itself runs with `greentune inference serve` (settings: GREENTUNE_INFERENCE_*).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from pydantic_core import to_jsonable_python

from services.inference.client import InferenceClient
from services.inference.domain import InferenceError, SamplingSettings
from services.inference.protocol import ArtifactLocation, ChatMessage, GenerateRequest
from services.runtime.errors import BusUnavailableError
from services.runtime.jetstream import connect
from services.runtime.settings import KernelSettings

T = TypeVar("T")


@click.group()
def inference() -> None:
    """Serve models with vLLM and talk to them."""


@inference.command()
def serve() -> None:
    """Run the inference service in the foreground until Ctrl-C."""
    from services.inference.app import main

    main()


def _with_client(work: Callable[[InferenceClient], Awaitable[T]]) -> T:
    async def run() -> T:
        nc = await connect(KernelSettings().nats_url, "greentune-cli")
        try:
            return await work(InferenceClient(nc))
        finally:
            await nc.close()

    try:
        return asyncio.run(run())
    except (InferenceError, BusUnavailableError) as exc:
        raise click.ClickException(str(exc)) from None


def _location(uri: str | None, sha256: str | None, what: str) -> ArtifactLocation | None:
    if uri is None and sha256 is None:
        return None
    if uri is None or sha256 is None:
        raise click.UsageError(f"give both --{what}uri and --{what}sha256 (the folder's manifest hash)")
    return ArtifactLocation(uri=uri, sha256=sha256)


@inference.command()
@click.argument("model")
@click.option("--uri", help="Folder URI in the artifact store (first load only).")
@click.option("--sha256", help="Manifest sha256 of that folder.")
@click.option("--adapter", help="Also serve this LoRA adapter on the model.")
@click.option("--adapter-uri", help="The adapter's folder URI (first load only).")
@click.option("--adapter-sha256", help="The adapter folder's manifest sha256.")
def load(
    model: str,
    uri: str | None,
    sha256: str | None,
    adapter: str | None,
    adapter_uri: str | None,
    adapter_sha256: str | None,
) -> None:
    """Load MODEL (and optionally an adapter); prints what the engine serves."""
    source, adapter_source = _location(uri, sha256, ""), _location(adapter_uri, adapter_sha256, "adapter-")
    loaded = _with_client(lambda c: c.load(model, source, adapter, adapter_source))
    click.echo(json.dumps(to_jsonable_python(loaded), indent=2))


@inference.command()
@click.argument("model")
def unload(model: str) -> None:
    """Unload MODEL from the engine host."""
    click.echo("unloaded" if _with_client(lambda c: c.unload(model)) else f"{model} was not loaded")


@inference.command()
def models() -> None:
    """List the loaded models and their adapters."""
    click.echo(json.dumps(to_jsonable_python(_with_client(lambda c: c.models())), indent=2))


@inference.command()
@click.argument("model")
@click.option("--adapter", help="LoRA adapter to answer with.")
@click.option("--prompt", help="Ask one question and exit (default: read questions from stdin).")
@click.option("--system", help="System message put before the conversation.")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--max-tokens", type=int, default=None, help="Most tokens per answer (default: up to the context).")
@click.option("--seed", type=int, default=None)
def chat(
    model: str,
    adapter: str | None,
    prompt: str | None,
    system: str | None,
    temperature: float,
    max_tokens: int | None,
    seed: int | None,
) -> None:
    """Chat with MODEL: answers stream as they are generated."""
    try:
        sampling = SamplingSettings.parse({"temperature": temperature, "max_tokens": max_tokens, "seed": seed})
    except InferenceError as exc:
        raise click.UsageError(str(exc)) from None
    history: list[ChatMessage] = [ChatMessage(role="system", content=system)] if system else []
    questions = [prompt] if prompt is not None else (line.rstrip("\n") for line in sys.stdin)
    for question in questions:
        if not question.strip():
            continue
        history.append(ChatMessage(role="user", content=question))
        request = GenerateRequest(model=model, adapter=adapter, messages=tuple(history), sampling=sampling)
        answer = _with_client(lambda c, r=request: _print_stream(c, r))  # type: ignore[misc]
        history.append(ChatMessage(role="assistant", content=answer))


async def _print_stream(client: InferenceClient, request: GenerateRequest) -> str:
    parts: list[str] = []
    end: Any = None
    async for chunk in client.stream(request):
        if chunk.kind == "chunk":
            parts.append(chunk.text)
            click.echo(chunk.text, nl=False)
        end = chunk.completion
    click.echo()
    if end is not None:
        click.echo(f"[{end.completion_tokens} tokens, {end.latency_ms:.0f} ms]", err=True)
    return "".join(parts)
