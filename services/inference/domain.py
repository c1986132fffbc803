"""The inference service's pure core: its error tree, where models come from, sampling settings.

No I/O here. Every error carries a stable `code` (sent to callers over NATS) and a message a
person can act on; `error_for_code` turns a code back into the same class on the client side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from services.runtime.problems import ServiceError


class InferenceError(ServiceError):
    """Base of the inference service's errors."""

    code: ClassVar[str] = "inference_error"
    status: ClassVar[int] = 500


class InvalidRequestError(InferenceError):
    code = "invalid_request"
    status = 400


class InvalidSamplingError(InvalidRequestError):
    code = "invalid_sampling"


class UnknownModelError(InferenceError):
    code = "unknown_model"
    status = 404


class UnknownAdapterError(InferenceError):
    code = "unknown_adapter"
    status = 404


class AdapterBaseMismatchError(InferenceError):
    code = "adapter_base_mismatch"
    status = 400


class PromptTooLongError(InferenceError):
    code = "prompt_too_long"
    status = 400


class ModelLoadError(InferenceError):
    code = "model_load_failed"


class CorruptModelError(ModelLoadError):
    code = "corrupt_artifact"


class CapacityError(InferenceError):
    code = "no_capacity"
    status = 503


class EngineFailedError(InferenceError):
    code = "engine_failed"
    status = 503


class EngineOutOfMemoryError(EngineFailedError):
    code = "engine_out_of_memory"


def _subclasses(cls: type[InferenceError]) -> list[type[InferenceError]]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def error_for_code(code: str, message: str) -> InferenceError | None:
    """The error a caller should raise for a reply's error code (None if no class has it)."""
    by_code = {cls.code: cls for cls in _subclasses(InferenceError)}
    error = by_code.get(code)
    return error(message) if error is not None else None


def describe(errors: Sequence[ErrorDetails], what: str) -> str:
    """One line per invalid field: `sampling.temperature: Input should be ... (got -1)`."""
    lines = []
    for error in errors:
        field = ".".join(str(part) for part in (what, *error["loc"]) if part != "")
        got = f" (got {error['input']!r})" if error["type"] != "missing" and "input" in error else ""
        lines.append(f"{field}: {error['msg']}{got}")
    return "; ".join(lines)


@dataclass(frozen=True)
class ModelSource:
    """A base or merged model folder in the artifact store."""

    name: str
    key: str
    sha256: str
    owner: str | None = None  # the tenant whose version it is; None: shared (a base model)


@dataclass(frozen=True)
class AdapterSource:
    """A LoRA adapter folder in the artifact store, and the base model it was trained on."""

    name: str
    base_model: str
    key: str
    sha256: str
    owner: str | None = None  # the tenant whose version it is


@dataclass(frozen=True)
class AdapterHandle:
    """An adapter copied to local disk, with the engine-wide integer id vLLM needs."""

    name: str
    int_id: int
    path: Path


class SamplingSettings(BaseModel):
    """Sampling parameters of one request; defaults sample like the OpenAI API."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(1.0, ge=0.0, le=5.0, description="0 is greedy decoding.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    top_k: int = Field(0, ge=0, description="Sample among the k most likely tokens; 0 keeps them all.")
    max_tokens: int | None = Field(None, ge=1, description="Most tokens to generate; None: up to the context end.")
    min_tokens: int = Field(0, ge=0, description="EOS and stop strings are ignored until this many tokens.")
    stop: tuple[str, ...] = Field((), max_length=16, description="Generation ends before any of these strings.")
    seed: int | None = Field(None, ge=0, lt=2**63, description="Per-request seed, for reproducible sampling.")
    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0, description="Penalty for tokens already present.")
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0, description="Penalty by how often a token appeared.")

    @model_validator(mode="after")
    def _consistent(self) -> SamplingSettings:
        if any(not s for s in self.stop):
            raise ValueError("stop strings must not be empty")
        if self.max_tokens is not None and self.min_tokens > self.max_tokens:
            raise ValueError(f"min_tokens ({self.min_tokens}) must not exceed max_tokens ({self.max_tokens})")
        return self

    @classmethod
    def parse(cls, data: object) -> SamplingSettings:
        """Validated settings, or InvalidSamplingError naming each bad field."""
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            raise InvalidSamplingError(f"invalid sampling parameters: {describe(exc.errors(), 'sampling')}") from None


def check_context(model: str, prompt_tokens: int, max_tokens: int | None, context: int) -> None:
    """PromptTooLongError unless the prompt (and any requested completion) fits the context."""
    if prompt_tokens >= context:
        raise PromptTooLongError(
            f"the prompt has {prompt_tokens} tokens but model {model!r} has a context of {context} tokens "
            f"(room for at least one generated token is needed): shorten the prompt"
        )
    if max_tokens is not None and prompt_tokens + max_tokens > context:
        raise PromptTooLongError(
            f"the prompt ({prompt_tokens} tokens) plus max_tokens ({max_tokens}) exceeds the {context}-token "
            f"context of model {model!r}: lower max_tokens to at most {context - prompt_tokens} or leave it unset"
        )
