"""The registry's catalogue lists every version with its status and verdict (deleted and failed ones
marked, not hidden), and a version is served the cheapest way vLLM can: as an adapter on its base
model, else as merged weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts import Actor, DomainEvent, Envelope
from contracts.events.models import (
    ArtifactRef,
    ModelAliasSet,
    ModelDeleted,
    ModelRegistered,
    ModelVerificationCompleted,
)
from services.api.model_serving import NotServableError, serving_plan
from services.registry.read_model import RegistryView
from services.registry.replies import ServableVersion

SHA = "a" * 64


def envelope(event: DomainEvent, aggregate_id: str = "model-uuid") -> Envelope:
    return Envelope.new(event, producer="registry", aggregate_id=aggregate_id, actor=Actor(kind="system", id="r"))


def registered(version: int, *kinds: str) -> ModelRegistered:
    artifacts = tuple(ArtifactRef(kind=k, uri=f"file:///{k}-{version}", size_bytes=1, sha256=SHA) for k in kinds)  # type: ignore[arg-type]
    return ModelRegistered(
        name="facts", model_version=version, job_id=f"job-{version}", base_model="tiny", dataset_id="d-1",
        artifacts=artifacts,
    )  # fmt: skip


def resolved(version: int, *kinds: str) -> ServableVersion:
    """What `rpc.registry.resolve` answers for a servable version."""
    event = registered(version, *kinds)
    return ServableVersion(
        name=event.name, version=version, status="active", verified=True, base_model=event.base_model,
        artifacts=list(event.artifacts),
    )  # fmt: skip


def test_the_catalogue_marks_deleted_and_failed_versions_and_an_alias_moves_between_them(tmp_path: Path) -> None:
    view = RegistryView.open(tmp_path / "catalogue.sqlite")
    failed = ModelVerificationCompleted(model_version=2, verified=False, match_threshold=0.9, checks=())
    events = [
        registered(1, "lora"), ModelAliasSet(alias="production", model_version=1), registered(2, "lora"), failed,
        registered(3, "lora", "merged_16bit"), ModelDeleted(model_version=3, reason="trained on the wrong data"),
        ModelAliasSet(alias="production", model_version=2, previous_version=1),
        ModelAliasSet(alias="production", model_version=1, previous_version=2),
    ]  # fmt: skip
    view.apply([(sequence, envelope(event)) for sequence, event in enumerate(events, start=1)])

    newest, failing, first = view.version_rows()
    assert (newest["version"], newest["status"], newest["verified"], newest["aliases"]) == (3, "deleted", None, [])
    assert newest["deleted_at"] is not None and [a["kind"] for a in newest["artifacts"]] == ["lora", "merged_16bit"]
    assert (failing["version"], failing["status"], failing["verified"]) == (2, "active", False)
    assert (first["version"], first["aliases"], first["job_id"]) == (1, ["production"], "job-1")


def test_a_lora_version_is_served_on_its_base_and_without_a_base_as_merged_weights() -> None:
    version = resolved(1, "lora", "merged_16bit")
    on_base = serving_plan(version, ("file:///base", SHA))
    assert (on_base.model, on_base.adapter, on_base.chat_model_id) == ("tiny", "facts-v1", "tiny:facts-v1")
    assert on_base.source == {"uri": "file:///base", "sha256": SHA}
    assert on_base.adapter_source == {"uri": "file:///lora-1", "sha256": SHA}
    merged = serving_plan(version, None)
    assert (merged.chat_model_id, merged.source["uri"]) == ("facts-v1", "file:///merged_16bit-1")


def test_a_version_with_only_a_gguf_export_cannot_be_served_and_says_what_it_needs() -> None:
    with pytest.raises(NotServableError, match="merged_16bit"):
        serving_plan(resolved(1, "gguf_q8_0"), ("file:///base", SHA))
