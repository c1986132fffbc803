"""The OpenAI request bodies the gateway accepts (`/v1/chat/completions`, `/v1/completions`).

Fields OpenAI clients commonly send are modelled; unknown ones are ignored, as OpenAI's own
server does with fields it does not know. Features greentune does not offer (n > 1, logprobs,
tools, JSON modes, echo) are refused with a message naming the field, never silently dropped.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TextPart(Wire):
    type: Literal["text"]
    text: str


class ChatTurn(Wire):
    role: Literal["system", "developer", "user", "assistant"] = Field(
        description="`developer` is taken as `system` (the newer OpenAI name for it)."
    )
    content: str | list[TextPart] = Field(description="Text, or a list of text parts joined in order.")

    @property
    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


class StreamOptions(Wire):
    include_usage: bool = False


class CommonFields(Wire):
    """Fields both endpoints take (model, sampling, streaming); a None sampling field means the OpenAI default."""

    model: str = Field(min_length=1, description="`<model>` or `<model>:<adapter>` as listed by GET /v1/models.")
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = Field(None, description="vLLM's extension; 0 or -1 keeps every token.")
    max_tokens: int | None = None
    min_tokens: int | None = Field(None, description="vLLM's extension: EOS and stops ignored before this many tokens.")
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    n: int = Field(1, description="Only 1: ask again for more answers.")
    logprobs: Any = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None

    @model_validator(mode="after")
    def _offered(self) -> CommonFields:
        refused = {
            "n": "only n=1 is supported: send the request again for another answer" if self.n != 1 else None,
            "logprobs": "logprobs are not offered by greentune yet" if self.logprobs not in (None, False) else None,
        }
        problems = [f"{field}: {why}" for field, why in refused.items() if why]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ChatCompletionRequest(CommonFields):
    messages: list[ChatTurn] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, description="The newer name of max_tokens; wins when both are set.")
    tools: list[Any] | None = None
    response_format: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _chat_offered(self) -> ChatCompletionRequest:
        if self.tools:
            raise ValueError("tools: tool calling is not offered by greentune yet; send plain messages")
        if self.response_format and self.response_format.get("type", "text") != "text":
            raise ValueError("response_format: only {'type': 'text'} is offered (no JSON modes yet)")
        return self


class CompletionRequest(CommonFields):
    prompt: str | list[str] = Field(description="One prompt, or a list answered as one batch.")
    echo: bool = False
    suffix: str | None = None

    @model_validator(mode="after")
    def _completion_offered(self) -> CompletionRequest:
        if self.echo or self.suffix:
            raise ValueError("echo and suffix are not offered by greentune; send the prompt alone")
        if isinstance(self.prompt, list) and not self.prompt:
            raise ValueError("prompt: give at least one prompt")
        if isinstance(self.prompt, list) and len(self.prompt) > 1 and self.stream:
            raise ValueError("stream: streaming takes one prompt; send a list without stream for a batch")
        return self

    @property
    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)
