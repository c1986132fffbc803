"""The registry over NATS request/reply: one `rpc.registry.<method>` subject each, served by a queue
group (services/runtime/rpc.py). Each request carries its `actor`.

Queries read the read model; commands and `resolve` (what may be served) use the Model aggregate,
so they never act on a stale view. The handlers block (SQLite, the event store): the runtime runs
them in worker threads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts import Actor
from contracts.events.keys import ApiKeyCreated
from contracts.events.models import ModelVerificationCompleted
from services.registry.domain import UnknownVersionError
from services.registry.handlers import Registry
from services.registry.read_model import RegistryView
from services.registry.replies import (
    AliasMove,
    ApiKeyRow,
    CataloguedBaseModel,
    CatalogueEntry,
    KeyCreated,
    ModelVersionRow,
    ServableVersion,
    VersionDetail,
    VersionSummary,
)
from services.runtime import access
from services.runtime.aggregate import Causation
from services.runtime.rpc import Route, RpcService

SUBJECT_PREFIX = "rpc.registry"


class RegistryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: Actor = Field(
        default_factory=lambda: Actor(kind="system", id="anonymous"), description="Who asks (recorded on commands)."
    )

    def cause(self) -> Causation:
        return Causation(self.actor)


class ModelRequest(RegistryRequest):
    name: str = Field(min_length=1)


class VersionRequest(ModelRequest):
    version: int = Field(ge=1)


class RefRequest(ModelRequest):
    ref: str = Field("latest", min_length=1, description="A version number, an alias or `latest`.")


class AliasRequest(VersionRequest):
    alias: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")


class ReasonRequest(VersionRequest):
    reason: str = Field(min_length=1, max_length=1000)


class HistoryRequest(ModelRequest):
    alias: str | None = None


class PurgeRequest(RegistryRequest):
    older_than_days: float | None = Field(None, ge=0)


class CreateKeyRequest(RegistryRequest):
    key: ApiKeyCreated = Field(description="The key to record: its secret's hash, made by the caller (keys.issue).")


class RevokeKeyRequest(RegistryRequest):
    key_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    reason: str | None = Field(None, max_length=1000)


class Changed(BaseModel):
    changed: bool = Field(description="False when the version was already in that state.")


class Purged(BaseModel):
    versions_purged: int


class RegistryHandlers:
    def __init__(self, registry: Registry, view: RegistryView, retention_days: float) -> None:
        self.registry, self.view, self.retention_days = registry, view, retention_days

    def catalogue(self, r: RegistryRequest) -> list[CatalogueEntry]:
        """Every model: its latest version, how many versions, its aliases."""
        access.require(r.actor, "admin", "the whole catalogue")
        return [CatalogueEntry.model_validate(row) for row in self.view.catalogue()]

    def versions(self, r: ModelRequest) -> list[VersionSummary]:
        """A model's versions that are not deleted."""
        return [VersionSummary.model_validate(row) for row in self.view.versions(r.name) if _sees(r, row)]

    def version_rows(self, r: RegistryRequest) -> list[ModelVersionRow]:
        """Every version of every model, newest first, deleted and failed ones included."""
        return [ModelVersionRow.model_validate(row) for row in self.view.version_rows() if _sees(r, row)]

    def show(self, r: RefRequest) -> VersionDetail:
        """One version (by number, alias or `latest`) with its lineage, state and footprint."""
        number = self.registry.store.get(r.name).resolve(r.ref, partial(access.sees, r.actor)).number
        row = self.view.version(r.name, number)
        if row is None:
            raise UnknownVersionError(f"{r.name} v{number} is not in the catalogue yet; retry in a moment")
        return VersionDetail.model_validate(row)

    def aliases(self, r: HistoryRequest) -> list[AliasMove]:
        """Where a model's aliases pointed, and when they moved."""
        access.require(r.actor, "admin", "the alias history")
        return [AliasMove.model_validate(row) for row in self.view.alias_history(r.name, r.alias)]

    def base_models(self, r: RegistryRequest) -> list[CataloguedBaseModel]:
        """The base models jobs were trained from, with their artifacts."""
        return [CataloguedBaseModel.model_validate(row) for row in self.view.base_models()]

    def resolve(self, r: RefRequest) -> ServableVersion:
        """What may be served for a reference: refused for a deleted version or one that failed verification."""
        return self.registry.servable(r.name, r.ref, r.actor)

    def set_alias(self, r: AliasRequest) -> Changed:
        """Point an alias at a version."""
        return Changed(changed=self.registry.set_alias(r.name, r.alias, r.version, r.cause()))

    def deprecate(self, r: ReasonRequest) -> Changed:
        """Mark a version deprecated, with the reason."""
        return Changed(changed=self.registry.deprecate(r.name, r.version, r.reason, r.cause()))

    def delete(self, r: ReasonRequest) -> Changed:
        """Delete a version (its artifacts are purged after the retention period)."""
        return Changed(changed=self.registry.delete(r.name, r.version, r.reason, r.cause()))

    def verify(self, r: VersionRequest) -> ModelVerificationCompleted:
        """Run the golden prompts against a version now."""
        access.require(r.actor, "member", "verifying a version")
        return self.registry.verify(r.name, r.version, r.cause(), force=True)

    def purge(self, r: PurgeRequest) -> Purged:
        """Remove the artifacts of versions deleted longer ago than the retention period."""
        access.require(r.actor, "admin", "purging")
        days = self.retention_days if r.older_than_days is None else r.older_than_days
        cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        purged = self.registry.purge(self.view.deleted_before(cutoff), f"deleted for >= {days:g} days", r.cause())
        return Purged(versions_purged=purged)

    def create_key(self, r: CreateKeyRequest) -> KeyCreated:
        """Record a new API key from its secret's hash (admins and operators)."""
        return KeyCreated(key_id=self.registry.create_key(r.key, r.cause()))

    def revoke_key(self, r: RevokeKeyRequest) -> Changed:
        """Revoke an API key: every API process refuses it once the event reaches it."""
        return Changed(changed=self.registry.revoke_key(r.key_id, r.reason, r.cause()))

    def api_keys(self, r: RegistryRequest) -> list[ApiKeyRow]:
        """Every API key, revoked ones included (never a secret)."""
        access.require(r.actor, "admin", "listing API keys")
        return [ApiKeyRow.model_validate(row) for row in self.view.api_keys()]


def _sees(r: RegistryRequest, row: dict[str, Any]) -> bool:
    return access.sees(r.actor, row["owner"])


H = RegistryHandlers
RPC = RpcService(
    SUBJECT_PREFIX,
    "registry",
    (
        Route("catalogue", RegistryRequest, list[CatalogueEntry], H.catalogue),
        Route("versions", ModelRequest, list[VersionSummary], H.versions),
        Route("version_rows", RegistryRequest, list[ModelVersionRow], H.version_rows),
        Route("show", RefRequest, VersionDetail, H.show),
        Route("aliases", HistoryRequest, list[AliasMove], H.aliases),
        Route("base_models", RegistryRequest, list[CataloguedBaseModel], H.base_models),
        Route("resolve", RefRequest, ServableVersion, H.resolve),
        Route("set_alias", AliasRequest, Changed, H.set_alias),
        Route("deprecate", ReasonRequest, Changed, H.deprecate),
        Route("delete", ReasonRequest, Changed, H.delete),
        Route("verify", VersionRequest, ModelVerificationCompleted, H.verify),
        Route("purge", PurgeRequest, Purged, H.purge),
        Route("create_key", CreateKeyRequest, KeyCreated, H.create_key),
        Route("revoke_key", RevokeKeyRequest, Changed, H.revoke_key),
        Route("api_keys", RegistryRequest, list[ApiKeyRow], H.api_keys),
    ),
    title="Model registry",
)
