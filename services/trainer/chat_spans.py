"""Where the assistant's replies lie in a conversation rendered by any chat template.

Most stock templates (ChatML, Llama 3, Mistral, Gemma...) have no `{% generation %}` markers, so
the spans are found from the template itself: the conversation up to reply i with the generation
prompt, and up to and including reply i, differ by exactly that reply and its end-of-turn markup.
Pure: the template is given as a render function; no tokenizer, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Messages = Sequence[dict[str, Any]]
Render = Callable[[Messages, bool], str]  # (messages, add_generation_prompt) -> text
CharSpan = tuple[int, int]  # [start, end) in the rendered text

TEMPLATE_FIX = (
    "add {% generation %}...{% endgeneration %} around the assistant content in the base model's chat_template "
    "(tokenizer_config.json or chat_template.jinja) and register it again, or use `text` rows"
)


class ChatTemplateError(ValueError):
    """A chat template refuses a conversation, or renders it so that its replies cannot be located;
    the message says what to set."""


def assistant_spans(render: Render, messages: Messages) -> tuple[str, list[CharSpan]]:
    """The whole conversation as rendered, and the character span of each assistant reply in it.

    A span covers the reply and the template's end-of-turn markup after it (`<|im_end|>`,
    `<|eot_id|>`, `</s>`...) so the model learns to stop, but not the whitespace that follows.
    """
    full = render(messages, False)
    spans: list[CharSpan] = []
    for index, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        if index == 0:
            raise ChatTemplateError("the conversation starts with an assistant reply: put a user turn before it")
        prompt = render(messages[:index], True)
        upto = render(messages[: index + 1], False)
        if not upto.startswith(prompt):
            raise ChatTemplateError(
                f"the chat template renders the turns before reply {index} differently once the reply is added, "
                f"so the reply cannot be located; {TEMPLATE_FIX}"
            )
        if not full.startswith(upto):
            raise ChatTemplateError(
                f"the chat template renders reply {index} differently when later turns follow it; {TEMPLATE_FIX}"
            )
        reply = upto[len(prompt) :].rstrip()
        if reply:
            spans.append((len(prompt), len(prompt) + len(reply)))
    return full, spans


def token_mask(offsets: Sequence[tuple[int, int]], spans: Sequence[CharSpan]) -> list[int]:
    """1 for each token whose characters overlap a span (offsets as fast tokenizers return them)."""
    mask = []
    for start, end in offsets:
        mask.append(int(any(start < span_end and span_start < max(end, start + 1) for span_start, span_end in spans)))
    return mask
