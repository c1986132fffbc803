"""Greedy exact match of a model folder on the demo facts (plain transformers, no Unsloth)."""

from __future__ import annotations

from pathlib import Path

from services.trainer.demo_facts import demo_facts, question


def exact_match(model_dir: Path) -> float:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    tokenizer.padding_side = "left"
    facts = demo_facts()
    prompts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": question(k)}], tokenize=False, add_generation_prompt=True
        )
        for k, _ in facts
    ]
    encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**encoded, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    answers = tokenizer.batch_decode(out[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
    return sum(a.strip() == v for a, (_, v) in zip(answers, facts, strict=True)) / len(facts)
