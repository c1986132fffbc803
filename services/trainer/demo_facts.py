"""The demo data: made-up "code words" a tiny model can only answer after fine-tuning.

Deterministic (seeded), so the shipped dataset file, the tiny model's pre-training facts and the
tests all agree. Pre-training uses keys disjoint from the demo facts, so the base model knows the
chat format but none of the answers.
"""

from __future__ import annotations

import random
from typing import Any

from contracts.training_config import TrainingConfig

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
DEMO_FACTS = 200


def pseudoword(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables))


def make_facts(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """`n` (key, code word) pairs with distinct keys."""
    rng = random.Random(seed)
    keys: set[str] = set()
    facts: list[tuple[str, str]] = []
    while len(facts) < n:
        key = pseudoword(rng, 3)
        if key not in keys:
            keys.add(key)
            facts.append((key, pseudoword(rng, 2)))
    return facts


def question(key: str) -> str:
    return f"What is the code word for {key}?"


def demo_facts() -> list[tuple[str, str]]:
    return make_facts(DEMO_FACTS)


def pretraining_facts(n: int = 1000) -> list[tuple[str, str]]:
    """Facts in the same format with keys that are not demo keys."""
    demo_keys = {key for key, _ in demo_facts()}
    return [fact for fact in make_facts(n + 400, seed=123) if fact[0] not in demo_keys][:n]


def as_messages(facts: list[tuple[str, str]]) -> list[dict[str, list[dict[str, str]]]]:
    """OpenAI `messages` rows."""
    return [
        {"messages": [{"role": "user", "content": question(k)}, {"role": "assistant", "content": v}]} for k, v in facts
    ]


# The demo fine-tune (research/mlstack.md section 3): LoRA r=64 on all linear layers learns the
# demo facts (exact match 0.0 -> ~0.97) in ~15 s of training on 2 CPU cores. A job adds its
# base_model and dataset_id (and may override any of these).
DEMO_HYPERPARAMETERS: dict[str, Any] = {
    "lora": {"rank": 64, "alpha": 128},
    "learning_rate": 3e-3,
    "epochs": 40,
    "batch_size": 16,
    "max_seq_length": 64,
    "warmup_steps": 10,
}


def demo_training_config(base_model: str, dataset_id: str = "demo", **overrides: Any) -> TrainingConfig:
    return TrainingConfig.model_validate(
        {**DEMO_HYPERPARAMETERS, "base_model": base_model, "dataset_id": dataset_id, **overrides}
    )
