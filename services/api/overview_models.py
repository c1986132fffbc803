"""The dashboard's model catalogue: every registered version with its lineage, verification,
aliases, artifacts and training footprint, folded from the registry's events (pure, no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from contracts import Envelope
from contracts.events.models import (
    ModelAliasSet,
    ModelFootprintRecorded,
    ModelRegistered,
    ModelVerificationCompleted,
)


@dataclass
class ModelVersionRow:
    name: str
    version: int
    job_id: str
    base_model: str
    dataset_id: str
    registered_at: datetime
    artifacts: list[dict[str, Any]]
    verified: bool | None = None
    aliases: list[str] = field(default_factory=list)
    final_loss: float | None = None
    energy_kwh: float | None = None
    emissions_g: float | None = None


@dataclass
class ModelCatalogue:
    versions: dict[tuple[str, int], ModelVersionRow] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # the registry's aggregate id -> model name

    def apply(self, envelope: Envelope) -> None:
        name = self.names.get(envelope.aggregate_id, "")
        match envelope.event:
            case ModelRegistered() as e:
                self.names[envelope.aggregate_id] = e.name
                added = ModelVersionRow(
                    e.name, e.model_version, e.job_id, e.base_model, e.dataset_id, envelope.occurred_at,
                    [a.model_dump(mode="json") for a in e.artifacts],
                    final_loss=e.metrics.final_loss if e.metrics else None,
                )  # fmt: skip
                self.versions[(e.name, e.model_version)] = added
                if e.footprint:
                    added.energy_kwh, added.emissions_g = e.footprint.energy_kwh, e.footprint.emissions_g
            case ModelVerificationCompleted() as e if row := self.find(name, e.model_version):
                row.verified = e.verified
            case ModelFootprintRecorded() as e if row := self.find(name, e.model_version):
                row.energy_kwh, row.emissions_g = e.footprint.energy_kwh, e.footprint.emissions_g
            case ModelAliasSet() as e:
                for (other_name, _), other in self.versions.items():
                    if other_name == name and e.alias in other.aliases:
                        other.aliases.remove(e.alias)  # an alias points at one version at a time
                if row := self.find(name, e.model_version):
                    row.aliases.append(e.alias)

    def find(self, name: str, version: int) -> ModelVersionRow | None:
        return self.versions.get((name, version))

    def rows(self) -> list[dict[str, Any]]:
        newest_first = sorted(self.versions.values(), key=lambda r: (r.registered_at, r.version), reverse=True)
        return [asdict(row) for row in newest_first]


@dataclass(frozen=True)
class ServingPlan:
    """How to load a version into the inference service, and the `/v1` model id to chat with it."""

    model: str
    source: dict[str, str]  # {uri, sha256}
    adapter: str | None = None
    adapter_source: dict[str, str] | None = None

    @property
    def chat_model_id(self) -> str:
        return f"{self.model}:{self.adapter}" if self.adapter else self.model


class NotServableError(Exception):
    """The version has no artifact vLLM can load (HTTP 409)."""


def serving_plan(row: ModelVersionRow, base: tuple[str, str] | None) -> ServingPlan:
    """A LoRA version is served as an adapter on its base model (`base`: its uri and sha256, if
    catalogued), so versions of one base share an engine; otherwise its merged 16-bit weights are
    served as a model of their own."""
    kinds = {artifact["kind"]: artifact for artifact in row.artifacts}
    location = {kind: {"uri": a["uri"], "sha256": a["sha256"]} for kind, a in kinds.items()}
    if "lora" in kinds and base is not None:
        source = {"uri": base[0], "sha256": base[1]}
        return ServingPlan(row.base_model, source, f"{row.name}-v{row.version}", location["lora"])
    if "merged_16bit" in kinds:
        return ServingPlan(f"{row.name}-v{row.version}", location["merged_16bit"])
    raise NotServableError(
        f"{row.name} version {row.version} has no artifact vLLM can serve here: it needs a merged_16bit export, "
        f"or a lora export with its base model {row.base_model!r} registered ({', '.join(kinds)} found)"
    )
