"""The `rpc.inference.*` wire: request and reply bodies (JSON), shared by the service and its clients.

Core NATS request/reply in the shape of services/runtime/rpc.py, outside the event stream. A stream
sends `StreamChunk`s to the caller's reply subject: `chunk`s, then one `end` (with the completion),
or the failed reply. Now and then a chunk is sent as a request (`probe`, to be answered with an empty
reply): a caller that stopped listening answers nothing and its generation is aborted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import ErrorDetails

from contracts import Actor
from services.inference.domain import InvalidRequestError, InvalidSamplingError, SamplingSettings, describe

if TYPE_CHECKING:
    from services.runtime.rpc import Route

PREFIX = "rpc.inference"
GENERATE = f"{PREFIX}.generate"
STREAM = f"{PREFIX}.stream"
BATCH = f"{PREFIX}.batch"
LOAD = f"{PREFIX}.load"
UNLOAD = f"{PREFIX}.unload"
MODELS = f"{PREFIX}.models"
QUEUE_GROUP = "inference"  # several engine hosts share the work


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChatMessage(Message):
    role: Literal["system", "user", "assistant"]
    content: str


class PromptInput(Message):
    """Exactly one of `prompt` (raw text) or `messages` (rendered with the model's chat template)."""

    prompt: str | None = None
    messages: tuple[ChatMessage, ...] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> PromptInput:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` (text) or `messages` (chat turns)")
        return self


class Target(Message):
    """Which model answers, for whom, and how."""

    model: str = Field(min_length=1)
    adapter: str | None = Field(None, min_length=1)
    sampling: SamplingSettings = SamplingSettings()
    request_id: str | None = Field(None, min_length=1, max_length=200)
    correlation_id: str | None = Field(None, min_length=1)
    actor: Actor | None = None


class GenerateRequest(Target, PromptInput):
    """One prompt, one answer (also the body of a stream request)."""


class BatchRequest(Target):
    inputs: tuple[PromptInput, ...] = Field(min_length=1)


class ArtifactLocation(Message):
    """A folder in the artifact store: its URI (or key) and manifest sha256."""

    uri: str | None = Field(None, min_length=1)
    key: str | None = Field(None, min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _one_of(self) -> ArtifactLocation:
        if (self.uri is None) == (self.key is None):
            raise ValueError("give exactly one of `uri` or `key`")
        return self


class LoadRequest(Message):
    """Load a model (and optionally an adapter on it); locations register them for later requests."""

    model: str = Field(min_length=1)
    source: ArtifactLocation | None = None
    adapter: str | None = Field(None, min_length=1)
    adapter_source: ArtifactLocation | None = None
    owner: str | None = Field(
        None,
        description="Tenant whose registry version this load serves (the adapter, or else the model): only its "
        "API keys and admins may generate with it. None: shared by every caller.",
    )


class UnloadRequest(Message):
    model: str = Field(min_length=1)


class Completion(Message):
    text: str
    token_ids: tuple[int, ...]
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length", "aborted"]
    time_to_first_token_ms: float | None
    latency_ms: float
    energy_kwh: float | None = Field(
        None, description="This request's share of the engine's metered energy (PUE included); None: unmetered."
    )


class ListModels(Message):
    """Which models and adapters the engine host runs (those of `actor`'s tenant and the shared ones)."""

    actor: Actor | None = None


class EngineStatus(Message):
    model: str
    engine: str = Field(description="The engine running it (vLLM and its device).")
    adapters: list[str]
    in_flight: int = Field(ge=0, description="Requests being answered now.")


class Unloaded(Message):
    unloaded: bool = Field(description="False when the model was not loaded.")


class StreamChunk(Message):
    kind: Literal["chunk", "end", "probe"]
    index: int = 0
    text: str = ""
    token_ids: tuple[int, ...] = ()
    completion: Completion | None = None


def invalid(route: Route, errors: list[ErrorDetails]) -> InvalidRequestError:
    """The refusal of a malformed request: InvalidSamplingError when only its sampling is wrong."""
    sampling_only = all(error["loc"][:1] == ("sampling",) for error in errors)
    error = InvalidSamplingError if sampling_only else InvalidRequestError
    return error(f"invalid {route.request.__name__}: {describe(errors, '')}")
