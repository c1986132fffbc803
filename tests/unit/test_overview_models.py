"""The dashboard's model catalogue follows the registry's events, and a version is served the
cheapest way vLLM can: as an adapter on its base model, else as merged weights."""

from __future__ import annotations

import pytest

from contracts import Actor, DomainEvent, Envelope
from contracts.events.models import ArtifactRef, ModelAliasSet, ModelRegistered, ModelVerificationCompleted
from services.api.overview_models import ModelCatalogue, NotServableError, serving_plan

SHA = "a" * 64


def envelope(event: DomainEvent, aggregate_id: str = "model-uuid") -> Envelope:
    return Envelope.new(event, producer="registry", aggregate_id=aggregate_id, actor=Actor(kind="system", id="r"))


def registered(version: int, *kinds: str) -> ModelRegistered:
    artifacts = tuple(ArtifactRef(kind=k, uri=f"file:///{k}-{version}", size_bytes=1, sha256=SHA) for k in kinds)  # type: ignore[arg-type]
    return ModelRegistered(
        name="facts", model_version=version, job_id=f"job-{version}", base_model="tiny", dataset_id="d-1",
        artifacts=artifacts,
    )  # fmt: skip


def test_versions_carry_verification_and_an_alias_moves_between_them() -> None:
    catalogue = ModelCatalogue()
    catalogue.apply(envelope(registered(1, "lora")))
    catalogue.apply(envelope(registered(2, "lora", "merged_16bit")))
    verification = ModelVerificationCompleted(model_version=2, verified=True, match_threshold=0.9, checks=())
    catalogue.apply(envelope(verification))
    catalogue.apply(envelope(ModelAliasSet(alias="production", model_version=1)))
    catalogue.apply(envelope(ModelAliasSet(alias="production", model_version=2, previous_version=1)))

    newest, oldest = catalogue.rows()
    assert (newest["version"], newest["verified"], newest["aliases"]) == (2, True, ["production"])
    assert newest["job_id"] == "job-2"
    assert (oldest["version"], oldest["verified"], oldest["aliases"]) == (1, None, [])


def test_a_lora_version_is_served_on_its_base_and_without_a_base_as_merged_weights() -> None:
    catalogue = ModelCatalogue()
    catalogue.apply(envelope(registered(1, "lora", "merged_16bit")))
    row = catalogue.find("facts", 1)
    assert row is not None

    on_base = serving_plan(row, ("file:///base", SHA))
    assert (on_base.model, on_base.adapter, on_base.chat_model_id) == ("tiny", "facts-v1", "tiny:facts-v1")
    assert on_base.source == {"uri": "file:///base", "sha256": SHA}
    assert on_base.adapter_source == {"uri": "file:///lora-1", "sha256": SHA}
    merged = serving_plan(row, None)
    assert (merged.chat_model_id, merged.source["uri"]) == ("facts-v1", "file:///merged_16bit-1")


def test_a_version_with_only_a_gguf_export_cannot_be_served_and_says_what_it_needs() -> None:
    catalogue = ModelCatalogue()
    catalogue.apply(envelope(registered(1, "gguf_q8_0")))
    row = catalogue.find("facts", 1)
    assert row is not None
    with pytest.raises(NotServableError, match="merged_16bit"):
        serving_plan(row, ("file:///base", SHA))
