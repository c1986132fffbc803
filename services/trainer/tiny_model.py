"""Build the offline demo model: a tiny Llama with a BPE tokenizer trained here, briefly pre-trained.

No weights can be downloaded, and LoRA learns nothing on a purely random base (its frozen, tied
output layer caps the logits), so the base gets ~300 steps of full-parameter training on other
facts in the same chat format: it then answers in the right shape but knows none of the demo
facts (research/mlstack.md sections 2-3). Saved as a normal Hugging Face folder.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.trainer.demo_facts import demo_facts, pretraining_facts, pseudoword, question

SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
EOS_TOKEN = "<|end|>"
# Every turn ends with EOS; {% generation %} marks what the loss trains on (assistant replies).
CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'assistant' %}<|assistant|>{% generation %}{{ m['content'] }}<|end|>{% endgeneration %}"
    "{% else %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@dataclass(frozen=True)
class TinyModelReport:
    path: Path
    parameters: int
    pretrain_steps: int
    first_loss: float
    last_loss: float


def _train_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    rng = random.Random(1)
    corpus: list[str] = []
    for key, value in demo_facts() + pretraining_facts():
        corpus += [question(key), value, f"The code word for {key} is {value}."]
    corpus += [" ".join(pseudoword(rng, rng.randint(1, 4)) for _ in range(12)) for _ in range(2000)]
    corpus += ["Hello! How can I help you today?", "The quick brown fox jumps over the lazy dog."] * 50
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024,
        special_tokens=SPECIAL_TOKENS,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|bos|>",
        eos_token=EOS_TOKEN,
        pad_token="<|pad|>",
        chat_template=CHAT_TEMPLATE,
    )


def build_tiny_model(out_dir: Path, pretrain_steps: int = 300, seed: int = 0) -> TinyModelReport:
    """Write the tiny model folder to `out_dir` (replacing it). About 20 s on 2 CPU cores."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _train_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    first, last = _pretrain(model, tokenizer, pretrain_steps, seed)
    model.eval()
    shutil.rmtree(out_dir, ignore_errors=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    parameters = sum(p.numel() for p in model.parameters())
    return TinyModelReport(out_dir, parameters, pretrain_steps, first, last)


def _pretrain(model: Any, tokenizer: Any, steps: int, seed: int) -> tuple[float, float]:
    import torch

    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": question(k)}, {"role": "assistant", "content": v}], tokenize=False
        )
        for k, v in pretraining_facts()
    ]
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
    width = max(map(len, encoded))
    ids = torch.full((len(encoded), width), tokenizer.pad_token_id)
    for row, tokens in enumerate(encoded):
        ids[row, : len(tokens)] = torch.tensor(tokens)
    labels = ids.masked_fill(ids == tokenizer.pad_token_id, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    model.train()
    for _ in range(steps):
        batch = torch.randint(0, len(encoded), (64,), generator=generator)
        loss = model(
            input_ids=ids[batch], attention_mask=(ids[batch] != tokenizer.pad_token_id).long(), labels=labels[batch]
        ).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.item()))
    return (losses[0], losses[-1]) if losses else (float("nan"), float("nan"))
