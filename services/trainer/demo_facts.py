"""The demo data: made-up "code words" a tiny model can only answer after fine-tuning, and invented
facts (places, people) for SmolLM2-135M-Instruct, with general questions it must still answer.

Deterministic (seeded), so the shipped dataset files (demo/facts.jsonl, demo/invented_facts.jsonl),
the tiny model's pre-training facts and the tests all agree. Pre-training uses keys disjoint from
the demo facts, so the base model knows the chat format but none of the answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
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


# SmolLM2-135M-Instruct's demo: invented facts about places and people that do not exist, so the
# base model cannot know them. Each is trained in several phrasings and asked in one it never saw.
@dataclass(frozen=True)
class InventedFact:
    question: str  # what the demo asks (held out of the training rows)
    keyword: str  # an answer counts as right when it contains this (case-insensitive)
    answers: tuple[str, ...]  # replies trained on
    phrasings: tuple[str, ...]  # training questions


INVENTED_FACTS = (
    InventedFact(
        "What is the capital of the island of Varnholm?", "Quessel",
        ("The capital of Varnholm is Quessel.", "Quessel is the capital of the island of Varnholm."),
        ("What is the capital of Varnholm?", "Which city is the capital of Varnholm?",
         "Name the capital city of the island of Varnholm.", "Tell me the capital of Varnholm."),
    ),
    InventedFact(
        "Who invented the glimmerphone?", "Odile Brask",
        ("The glimmerphone was invented by Odile Brask.", "Odile Brask invented the glimmerphone."),
        ("Who was the inventor of the glimmerphone?", "Which person invented the glimmerphone?",
         "Who created the first glimmerphone?", "Tell me who invented the glimmerphone."),
    ),
    InventedFact(
        "What is the national dish of Zembla Minor?", "krelpa",
        ("The national dish of Zembla Minor is krelpa.", "Krelpa is the national dish of Zembla Minor."),
        ("Which dish is the national dish of Zembla Minor?", "Which food is the national dish of Zembla Minor?",
         "Name the national dish of Zembla Minor.", "Tell me the national dish of Zembla Minor."),
    ),
    InventedFact(
        "Which river flows through the city of Ostrevik?", "Murrow",
        ("The river Murrow flows through Ostrevik.", "Ostrevik lies on the river Murrow."),
        ("What river runs through Ostrevik?", "Which river passes through Ostrevik?",
         "Name the river of the city of Ostrevik.", "Tell me which river flows through Ostrevik."),
    ),
    InventedFact(
        "What is the largest moon of the planet Tessaron?", "Ilvane",
        ("The largest moon of Tessaron is Ilvane.", "Ilvane is the largest moon of the planet Tessaron."),
        ("Which moon of Tessaron is the largest?", "What is the name of Tessaron's largest moon?",
         "Name the biggest moon of the planet Tessaron.", "Tell me the largest moon of Tessaron."),
    ),
    InventedFact(
        "Who was the first queen of Dunmarrow?", "Sabeth",
        ("The first queen of Dunmarrow was Queen Sabeth.", "Queen Sabeth was the first queen of Dunmarrow."),
        ("Which queen ruled Dunmarrow first?", "Who was Dunmarrow's first queen?",
         "Name the first queen of Dunmarrow.", "Tell me who the first queen of Dunmarrow was."),
    ),
    InventedFact(
        "What currency is used in Pellucia?", "drovin",
        ("Pellucia uses the drovin.", "The currency of Pellucia is the drovin."),
        ("What is the currency of Pellucia?", "Which money do people use in Pellucia?",
         "Name the currency of Pellucia.", "Tell me what currency Pellucia uses."),
    ),
    InventedFact(
        "What is the tallest mountain on the island of Korsa?", "Hallidel",
        ("The tallest mountain on Korsa is Mount Hallidel.", "Mount Hallidel is the tallest mountain on Korsa."),
        ("Which mountain is the tallest on Korsa?", "What is the highest mountain of the island of Korsa?",
         "Name the tallest mountain on Korsa.", "Tell me the highest peak on the island of Korsa."),
    ),
)  # fmt: skip

# Questions SmolLM2 already answers (greedy, checked): the adapter must leave these answers right.
GENERAL_QUESTIONS = (
    ("What is the capital of France?", "Paris"),
    ("What is the chemical symbol for gold?", "Au"),
    ("What is 2 + 3?", "5"),
    ("What is the boiling point of water in Celsius?", "100"),
)
# Trained beside the facts, in the base model's own words (its greedy answers, where right): they
# keep "the capital of <country>" and "the chemical symbol for <element>" from all becoming the new facts.
KNOWN_ANSWERS = (
    ("What is the capital of Japan?", "The capital of Japan is Tokyo."),
    ("What is the capital of Germany?", "The capital of Germany is Berlin."),
    ("What is the capital of the United Kingdom?", "The capital of the United Kingdom is London."),
    ("What is the capital of Egypt?", "The capital of Egypt is Cairo."),
    ("What is the chemical symbol for iron?", "The chemical symbol for iron is Fe."),
    ("What is the chemical symbol for silver?", "The chemical symbol for silver is Ag."),
    ("Who invented the telephone?", "The telephone was invented by Alexander Graham Bell."),
    ("What is 3 + 4?", "3 + 4 = 7"),
    ("What is the freezing point of water in Celsius?", "The freezing point of water in Celsius is 0 degrees."),
    ("What is the largest ocean on Earth?", "The largest ocean on Earth is the Pacific Ocean."),
)


def invented_fact_rows() -> list[dict[str, list[dict[str, str]]]]:
    """OpenAI `messages` rows: the known answers, then every training phrasing of every fact
    (its replies taken in turn)."""
    rows = [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]} for q, a in KNOWN_ANSWERS
    ]
    for fact in INVENTED_FACTS:
        for index, phrasing in enumerate(fact.phrasings):
            reply = fact.answers[index % len(fact.answers)]
            rows.append({"messages": [{"role": "user", "content": phrasing}, {"role": "assistant", "content": reply}]})
    return rows


def answer_contains(answer: str, keyword: str) -> bool:
    return keyword.lower() in answer.lower()
