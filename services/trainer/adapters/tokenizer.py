"""Rows as the loss sees them under a model's own tokenizer and chat template (transformers): token
ids and, per token, whether it is trained; and the token statistics of a dataset.

Chat rows train on assistant replies only: the template's own `{% generation %}` mask when it has
one, else the replies located by services/trainer/chat_spans.py. The trainer trains on exactly
these ids and masks, so the sample shows what the loss sees. transformers is imported lazily;
tokenizers are cached per folder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from contracts.events.datasets import TokenStats
from services.trainer.chat_spans import ChatTemplateError, assistant_spans, token_mask
from services.trainer.errors import InvalidInputError, Problem
from services.trainer.ports import TokenReport

TRAINED_OPEN, TRAINED_CLOSE = "[[", "]]"  # marks trained spans in the rendered sample
GENERATION_MARKER = re.compile(r"{%-?\s*generation\s*-?%}")


class HFTokenCounter:
    def __init__(self) -> None:
        self._tokenizers: dict[Path, Any] = {}

    def tokenizer(self, model_dir: Path) -> Any:
        if model_dir not in self._tokenizers:
            from transformers import AutoTokenizer

            try:
                self._tokenizers[model_dir] = AutoTokenizer.from_pretrained(str(model_dir))
            except (OSError, ValueError) as exc:
                raise InvalidInputError(
                    "the base model's tokenizer cannot be loaded", [Problem(str(exc), model_dir.name)]
                ) from exc
        return self._tokenizers[model_dir]

    def measure(self, model_dir: Path, rows: Iterable[tuple[dict[str, Any], int]], max_seq_length: int) -> TokenReport:
        tokenizer = self.tokenizer(model_dir)
        lengths: list[int] = []
        too_long: list[tuple[int, int]] = []
        untrained: list[int] = []
        sample = ""
        refused: list[Problem] = []
        for row, line in rows:
            try:
                ids, mask = encode(tokenizer, row)
            except ChatTemplateError as exc:
                refused.append(Problem(str(exc), line=line, field="messages"))
                continue
            lengths.append(len(ids))
            if len(ids) > max_seq_length:
                too_long.append((line, len(ids)))
            if not any(mask):
                untrained.append(line)
            if not sample:
                sample = render_sample(tokenizer, ids, mask)
        return TokenReport(_stats(lengths, max_seq_length, len(too_long)), sample, too_long, untrained, refused)


def encode(tokenizer: Any, row: dict[str, Any]) -> tuple[list[int], list[int]]:
    """Token ids of a row and, per token, 1 when the loss trains on it."""
    if "messages" not in row:
        ids = [*tokenizer(row["text"], add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
        return ids, [1] * len(ids)
    if not tokenizer.chat_template:
        raise InvalidInputError(
            "chat data needs a chat template",
            [Problem("the base model's tokenizer has no chat_template", field="base_model")],
        )
    if GENERATION_MARKER.search(tokenizer.chat_template):
        encoded = _apply_template(
            tokenizer, row["messages"], tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        return list(encoded["input_ids"]), list(encoded["assistant_masks"])
    return _encode_located(tokenizer, row["messages"])


def _encode_located(tokenizer: Any, messages: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """Ids of the rendered conversation, trained where chat_spans located the replies."""

    def render(turns: Any, add_generation_prompt: bool) -> str:
        text = _apply_template(tokenizer, list(turns), tokenize=False, add_generation_prompt=add_generation_prompt)
        return str(text)

    text, spans = assistant_spans(render, messages)
    if not getattr(tokenizer, "is_fast", False):
        raise ChatTemplateError(
            "the base model's tokenizer is a slow (Python) tokenizer, which cannot map tokens to characters; "
            "add tokenizer.json (a fast tokenizer) to its folder, or {% generation %} markers to its chat_template"
        )
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return list(encoded["input_ids"]), token_mask(encoded["offset_mapping"], spans)


def _apply_template(tokenizer: Any, messages: list[dict[str, Any]], **options: Any) -> Any:
    from jinja2 import TemplateError

    try:
        return tokenizer.apply_chat_template(messages, **options)
    except TemplateError as exc:  # the template's raise_exception(): e.g. "System role not supported"
        raise ChatTemplateError(f"the base model's chat template refuses this conversation: {exc}") from None


def render_sample(tokenizer: Any, ids: list[int], mask: list[int]) -> str:
    """The row as text with trained spans wrapped in [[...]]."""
    parts: list[str] = []
    start = 0
    for index in range(1, len(ids) + 1):
        if index == len(ids) or mask[index] != mask[start]:
            text = tokenizer.decode(ids[start:index], skip_special_tokens=False)
            parts.append(f"{TRAINED_OPEN}{text}{TRAINED_CLOSE}" if mask[start] else text)
            start = index
    return "".join(parts)


def _stats(lengths: list[int], max_seq_length: int, truncated: int) -> TokenStats:
    ordered = sorted(lengths) or [0]
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return TokenStats(
        min=ordered[0],
        mean=round(sum(ordered) / len(ordered), 2),
        p95=p95,
        max=ordered[-1],
        total=sum(ordered),
        truncated_rows=truncated,
        max_seq_length=max_seq_length,
    )
