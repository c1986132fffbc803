"""Ports of the trainer: what it needs from the outside world, as Protocols.

Adapters live in adapters/ (tokenizer statistics, GGUF conversion) or in other services (energy
measurement by the carbon service, budgets). The defaults wired in app.py allow and measure nothing
and say so in the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from contracts import Actor
from contracts.events.datasets import TokenStats
from contracts.training_config import TrainingConfig
from services.trainer.errors import Problem


@dataclass(frozen=True)
class TokenReport:
    """Token lengths of a dataset's rows under one model's tokenizer and chat template."""

    stats: TokenStats
    sample: str  # first row rendered, trained spans marked [[like this]]
    too_long: list[tuple[int, int]] = field(default_factory=list)  # (line, tokens) of rows over the limit
    untrained: list[int] = field(default_factory=list)  # lines of chat rows whose template marks no trained token
    refused: list[Problem] = field(default_factory=list)  # rows the chat template refuses or cannot be analysed for


class TokenCounter(Protocol):
    def measure(self, model_dir: Path, rows: Iterable[tuple[dict[str, Any], int]], max_seq_length: int) -> TokenReport:
        """Token statistics of `rows` (each with its source line), read once, one row at a time."""
        ...


class BudgetCheck(Protocol):
    """Job intake asks before queueing; raise BudgetExceededError to refuse (adapters/budget.py asks carbon)."""

    async def check(self, actor: Actor, config: TrainingConfig) -> None: ...


class JobEnergy(Protocol):
    """Measures one job's energy from its start to its end (the carbon service's reporter plugs in here)."""

    def measuring(self, job_id: str, actor: Actor) -> AbstractAsyncContextManager[object]: ...


class GgufConverter(Protocol):
    def convert(self, merged_dir: Path, out_file: Path, outtype: str) -> Path: ...
