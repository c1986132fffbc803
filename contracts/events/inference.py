"""Inference events: one per served request (published directly; no aggregate behind them)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import DomainEvent


class InferenceCompleted(DomainEvent):
    """A generate, stream or batch request finished (or was aborted by its caller)."""

    aggregate_type: ClassVar[str] = "engine"
    type: Literal["InferenceCompleted"] = Field("InferenceCompleted", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    request_id: str = Field(min_length=1, description="Id of the request, unique per engine.")
    model: str = Field(description="The model that answered.")
    adapter: str | None = Field(None, description="The LoRA adapter used, if any.")
    mode: Literal["generate", "stream", "batch"] = Field(description="How it was requested.")
    prompt_tokens: int = Field(ge=0, description="Tokens in the prompt(s).")
    completion_tokens: int = Field(ge=0, description="Tokens generated.")
    latency_ms: float = Field(ge=0, description="Request received to last token, milliseconds.")
    time_to_first_token_ms: float | None = Field(None, ge=0, description="Request received to first token.")
    finish_reason: Literal["stop", "length", "aborted", "error"] = Field(description="Why generation ended.")
    energy_kwh: float | None = Field(
        None, ge=0, description="This request's share of the engine's metered energy; None when not metered."
    )
