"""Registry test helpers: the facts a trainer and a carbon meter log for one job, built with the
contracts, with the tiny model's real exports uploaded to an artifact store beside them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts import Actor, Envelope
from contracts.events.carbon import ComponentEnergy, EmissionsMeasured
from contracts.events.datasets import DatasetRegistered
from contracts.events.jobs import JobCompleted, JobRequested
from contracts.events.models import ArtifactRef, BaseModelRegistered, ModelExported
from contracts.training_config import TrainingConfig
from services.runtime.artifacts import ArtifactStore, layout
from services.trainer.demo_facts import demo_training_config

TRAINER = Actor(kind="system", id="trainer-worker-1")
DATASET_SHA = "d" * 64


def envelope(event: object, aggregate_id: str, producer: str = "trainer") -> Envelope:
    return Envelope.new(event, producer=producer, aggregate_id=aggregate_id, actor=TRAINER, correlation_id=aggregate_id)  # type: ignore[arg-type]


def emissions(sequence: int, final: bool, energy_kwh: float = 1e-4, grams: float = 5.6e-3) -> EmissionsMeasured:
    part = ComponentEnergy(energy_kwh=energy_kwh / 2, power_w=8.0, method="cpu_load_estimate", detail="TDP 8 W")
    return EmissionsMeasured(
        sequence=sequence, final=final, duration_seconds=7.0, cpu=part, ram=part,
        gpu=ComponentEnergy(energy_kwh=0.0, power_w=0.0, method="none"), energy_kwh=energy_kwh, emissions_g=grams,
        carbon_intensity_g_per_kwh=56.04, intensity_source="codecarbon energy mix FRA", intensity_is_fallback=False,
        country_iso_code="FRA", pue=1.0,
    )  # fmt: skip


def export_to_store(store: ArtifactStore, finetuned: Path, job_id: str) -> tuple[ArtifactRef, ...]:
    """What the trainer's export step leaves: both folders under the seed's layout, and their refs."""
    refs = []
    for kind, folder in (("lora", "lora"), ("merged_16bit", "merged")):
        stored = store.put_folder(layout.finetuned_model(job_id, kind), finetuned / folder)
        refs.append(ArtifactRef(kind=kind, uri=stored.uri, size_bytes=stored.size_bytes, sha256=stored.sha256))  # type: ignore[arg-type]
    return tuple(refs)


@dataclass(frozen=True)
class Job:
    job_id: str
    base_model: str
    dataset_id: str
    config: TrainingConfig

    def dataset_registered(self) -> Envelope:
        event = DatasetRegistered(
            name="facts.jsonl", uri=f"file:///data/{self.dataset_id}", sha256=DATASET_SHA, size_bytes=25_000,
            file_format="jsonl",
        )  # fmt: skip
        return envelope(event, self.dataset_id)

    def history(self, artifacts: tuple[ArtifactRef, ...], final_emissions_last: bool = False) -> list[Envelope]:
        """JobRequested ... ModelExported, with the final EmissionsMeasured before or after the export."""
        completed = JobCompleted(steps=520, final_loss=0.61, tokens_trained=128_000, train_seconds=14.6)
        exported = ModelExported(base_model=self.base_model, dataset_id=self.dataset_id, artifacts=artifacts)
        events: list[object] = [JobRequested(name="facts", config=self.config), emissions(1, False), completed]
        events += [exported, emissions(2, True)] if final_emissions_last else [emissions(2, True), exported]
        return [envelope(e, self.job_id, "carbon" if isinstance(e, EmissionsMeasured) else "trainer") for e in events]


def new_job(base_model: str, dataset_id: str = "facts-demo") -> Job:
    config = demo_training_config(base_model, dataset_id)
    return Job(str(uuid.uuid4()), base_model, dataset_id, config)


def base_registered(name: str, stored_uri: str, sha256: str) -> Envelope:
    event = BaseModelRegistered(
        name=name, uri=stored_uri, sha256=sha256, size_bytes=1_800_000, source="/models/tiny",
        architecture="LlamaForCausalLM", parameters=426_624,
    )  # fmt: skip
    return envelope(event, str(uuid.uuid5(uuid.NAMESPACE_URL, name)))


@pytest.fixture
def job_factory():  # type: ignore[no-untyped-def]
    return new_job


# The trainer's harness (intake in the test loop, real worker processes) for the end-to-end test.
from tests.trainer.conftest import trainer, trainer_ctx  # noqa: E402, F401
