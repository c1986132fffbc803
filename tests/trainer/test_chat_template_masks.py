"""Assistant-only loss for stock chat templates without {% generation %} markers.

The templates in chat_templates/ are the models' own (SmolLM2's from its GGUF, Qwen2.5, Llama 3,
Gemma and Mistral Instruct as published); no weights are needed: a small byte-level BPE tokenizer
with each family's special tokens renders and tokenizes them. Each check compares the label mask
the trainer trains on with the rendered template: the trained tokens are exactly each reply and
its end-of-turn token, and the ids are exactly the rendered conversation's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.trainer.adapters.tokenizer import encode, render_sample
from services.trainer.chat_spans import ChatTemplateError
from services.trainer.dataset_formats import RawRow, normalize

TEMPLATES = Path(__file__).parent / "chat_templates"
# family -> (template file, bos, eos, the end-of-turn markup a trained reply ends with)
FAMILIES: dict[str, tuple[str, str, str, str]] = {
    "chatml_smollm2": ("smollm2.jinja", "<|im_start|>", "<|im_end|>", "<|im_end|>"),
    "chatml_qwen2_5": ("qwen2_5.jinja", "<|endoftext|>", "<|im_end|>", "<|im_end|>"),
    "llama3": ("llama3.jinja", "<|begin_of_text|>", "<|eot_id|>", "<|eot_id|>"),
    "gemma": ("gemma.jinja", "<bos>", "<eos>", "<end_of_turn>"),
    "mistral": ("mistral.jinja", "<s>", "</s>", "</s>"),
}
SPECIAL = [
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>", "<|start_header_id|>",
    "<|end_header_id|>", "<|eot_id|>", "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "<s>", "</s>",
]  # fmt: skip

SHAREGPT = {
    "conversations": [
        {"from": "human", "value": "What is the capital of Varnholm?"},
        {"from": "gpt", "value": "The capital of Varnholm is Quessel."},
        {"from": "human", "value": "And its river?"},
        {"from": "gpt", "value": "The Ostra flows through Quessel."},
    ]
}
MESSAGES = {
    "messages": [
        {"role": "user", "content": "Who painted the Blue Lantern?"},
        {"role": "assistant", "content": "Mirela Dunhaven painted it in 1911."},
    ]
}
ALPACA = {"instruction": "Name the moon of Tessaro.", "input": "", "output": "Tessaro's moon is Ilvane."}


def tokenizer_for(family: str) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    template, bos, eos, _ = FAMILIES[family]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    corpus = [str(row) for row in (SHAREGPT, MESSAGES, ALPACA)] * 20
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=bos, eos_token=eos, chat_template=(TEMPLATES / template).read_text()
    )


def chat_row(raw: dict[str, Any]) -> dict[str, Any]:
    normalized = normalize([RawRow(1, raw)], "data.jsonl")
    assert not normalized.problems, normalized.problems
    return normalized.rows[0]


def trained_spans(tokenizer: Any, ids: list[int], mask: list[int]) -> list[str]:
    """The decoded runs of trained tokens."""
    runs: list[list[int]] = []
    for index, (token, trained) in enumerate(zip(ids, mask, strict=True)):
        if trained:
            if index == 0 or not mask[index - 1]:
                runs.append([])
            runs[-1].append(token)
    return [tokenizer.decode(run, skip_special_tokens=False) for run in runs]


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("raw", [MESSAGES, SHAREGPT, ALPACA], ids=["messages", "sharegpt", "alpaca"])
def test_only_each_reply_and_its_end_of_turn_token_are_trained(family: str, raw: dict[str, Any]) -> None:
    tokenizer = tokenizer_for(family)
    row = chat_row(raw)
    ids, mask = encode(tokenizer, row)

    rendered = tokenizer.apply_chat_template(row["messages"], tokenize=False)
    assert ids == tokenizer(rendered, add_special_tokens=False)["input_ids"]  # exactly the template's tokens
    end_of_turn = FAMILIES[family][3]
    replies = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
    assert trained_spans(tokenizer, ids, mask) == [f"{reply}{end_of_turn}" for reply in replies]
    untrained = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if not m], skip_special_tokens=False)
    for prompt in (m["content"] for m in row["messages"] if m["role"] != "assistant"):
        assert prompt in untrained


def test_preview_marks_the_trained_reply_in_the_rendered_chatml_conversation() -> None:
    tokenizer = tokenizer_for("chatml_smollm2")
    ids, mask = encode(tokenizer, chat_row(MESSAGES))
    assert render_sample(tokenizer, ids, mask) == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nWho painted the Blue Lantern?<|im_end|>\n"
        "<|im_start|>assistant\n[[Mirela Dunhaven painted it in 1911.<|im_end|>]]\n"
    )


def test_a_template_that_refuses_the_conversation_names_its_reason() -> None:
    tokenizer = tokenizer_for("gemma")  # Gemma's template has no system role
    row = chat_row({**ALPACA, "system": "Answer briefly."})
    with pytest.raises(ChatTemplateError, match="refuses this conversation: System role not supported"):
        encode(tokenizer, row)


def test_a_template_whose_earlier_turns_change_cannot_be_analysed_and_says_what_to_set() -> None:
    tokenizer = tokenizer_for("chatml_smollm2")
    tokenizer.chat_template = (  # the turn count leads every rendering, so no prefix is kept
        "{{ messages|length }} turns\n{% for m in messages %}"
        "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    with pytest.raises(ChatTemplateError, match=r"{% generation %}.*chat_template"):
        encode(tokenizer, chat_row(MESSAGES))


def test_a_conversation_that_opens_with_a_reply_is_refused_saying_what_to_add() -> None:
    tokenizer = tokenizer_for("llama3")
    row = {"messages": [{"role": "assistant", "content": "Hello."}, *MESSAGES["messages"]]}
    with pytest.raises(ChatTemplateError, match="put a user turn before it"):
        encode(tokenizer, row)
