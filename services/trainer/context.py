"""Everything a trainer command handler or worker needs, built once by app.py."""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.artifacts import ArtifactStore
from services.runtime.settings import KernelSettings
from services.trainer.config import TrainerSettings
from services.trainer.event_store import TrainerEventStore
from services.trainer.inputs import ArtifactCache
from services.trainer.ports import BudgetCheck, GgufConverter, JobEnergy, TokenCounter


@dataclass
class TrainerContext:
    kernel: KernelSettings
    settings: TrainerSettings  # resolved: every folder set
    app: TrainerEventStore
    store: ArtifactStore
    cache: ArtifactCache
    tokens: TokenCounter
    budget: BudgetCheck | None  # None: chosen by the intake from settings (needs its NATS connection)
    energy: JobEnergy | None
    gguf: GgufConverter | None  # None: llama.cpp's converter is not installed
