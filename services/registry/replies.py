"""What the registry answers (the `result` of an `rpc.registry.<method>` reply): typed replies
shared by the service and its clients. The read model's rows (services/registry/read_model.py) are
validated into them; `verify` answers the ModelVerificationCompleted event itself."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from contracts.base import Role
from contracts.events.models import ArtifactRef, ModelRegistered, ModelVerificationCompleted, TrainingFootprint
from services.registry.domain import VersionStatus


class ModelVersionRow(BaseModel):
    """One registered version of a fine-tuned model, with its lineage, state and footprint."""

    name: str
    version: int
    job_id: str = Field(description="The job that trained it.")
    base_model: str
    dataset_id: str
    registered_at: datetime
    artifacts: list[ArtifactRef]
    status: VersionStatus
    deleted_at: datetime | None = None
    purged: bool = Field(description="A deleted version's artifacts are gone from the store.")
    verified: bool | None = Field(description="The verification verdict; None while not yet verified.")
    aliases: list[str]
    final_loss: float | None = None
    energy_kwh: float | None = Field(None, description="Energy of the job that trained it.")
    emissions_g: float | None = Field(None, description="gCO2eq of the job that trained it.")
    owner: str | None = Field(None, description="Tenant that owns it (its job's); None: an operator's.")


class CatalogueEntry(BaseModel):
    """`catalogue`: one model, its latest version and its aliases (deleted versions not counted)."""

    name: str
    latest_version: int
    versions: int = Field(description="Versions not deleted.")
    base_model: str
    updated_at: datetime = Field(description="When its newest version was registered.")
    aliases: dict[str, int] = Field(description="Alias -> the version it points at.")


class VersionSummary(BaseModel):
    """`versions`: one version's lineage and state."""

    name: str
    version: int
    job_id: str = Field(description="The job that trained it.")
    base_model: str
    dataset_id: str
    status: VersionStatus
    verified: bool | None = Field(description="The verification verdict; None while not yet verified.")
    registered_at: datetime
    deleted_at: datetime | None = None
    purged: bool = Field(description="A deleted version's artifacts are gone from the store.")
    owner: str | None = Field(None, description="Tenant that owns it (its job's); None: an operator's.")


class VersionDetail(VersionSummary):
    """`show`: one version with its full registration, footprint, verification and aliases."""

    registration: ModelRegistered = Field(description="Its ModelRegistered event: artifacts, config, metrics.")
    footprint: TrainingFootprint | None = Field(description="The latest footprint of the job that trained it.")
    verification: ModelVerificationCompleted | None = Field(description="Its latest verification; None before.")
    aliases: list[str]


class AliasMove(BaseModel):
    """`aliases`: an alias was pointed at a version."""

    seq: int = Field(description="Order of the moves.")
    name: str
    alias: str
    version: int
    previous_version: int | None = Field(description="The version it pointed at before; None when new.")
    set_at: datetime
    actor: str = Field(description="Who moved it, `kind:id`.")


class CataloguedBaseModel(BaseModel):
    """`base_models`: a base model jobs may fine-tune (its BaseModelRegistered)."""

    name: str
    uri: str = Field(description="Folder URI in the artifact store.")
    sha256: str = Field(description="SHA-256 of the folder's sorted file manifest.")
    size_bytes: int
    architecture: str
    parameters: int
    registered_at: datetime


class ServableVersion(BaseModel):
    """`resolve`: what an inference engine needs to serve a version (refused when it may not be)."""

    name: str
    version: int
    status: VersionStatus
    verified: bool | None = Field(description="The verification verdict; None while not yet verified.")
    base_model: str
    artifacts: list[ArtifactRef]
    model_card_uri: str | None = None
    owner: str | None = Field(None, description="Tenant that owns it; None: an operator's.")


class ApiKeyRow(BaseModel):
    """`api_keys`: one API key (never its secret)."""

    key_id: str = Field(description="What requests made with the key are recorded under.")
    name: str
    role: Role
    tenant: str
    hint: str = Field(description="The secret's first characters.")
    created_at: datetime
    created_by: str = Field(description="Who created it, `kind:id`.")
    revoked_at: datetime | None = None


class KeyCreated(BaseModel):
    """`create_key`: the new key's id (its secret was made, and is shown, by the caller)."""

    key_id: str
