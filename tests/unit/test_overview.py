"""The dashboard's overview folds jobs, datasets and base models from their events, whatever the
order in which the trainer's and the carbon service's streams reach it."""

from __future__ import annotations

from contracts import Actor, DomainEvent, Envelope
from contracts.events.carbon import ComponentEnergy, EmissionsMeasured
from contracts.events.datasets import DatasetRegistered, DatasetValidated
from contracts.events.jobs import JobFailed, JobQueued, JobRequested, JobStarted, TrainingProgressed
from contracts.events.models import BaseModelRegistered
from contracts.training_config import TrainingConfig
from services.api.overview import Overview

ACTOR = Actor(kind="api_key", id="alice")
SHA = "0" * 64


def envelope(event: DomainEvent, aggregate_id: str, producer: str = "trainer") -> Envelope:
    return Envelope.new(event, producer=producer, aggregate_id=aggregate_id, actor=ACTOR)


def emissions(kwh: float, grams: float) -> EmissionsMeasured:
    component = ComponentEnergy(energy_kwh=kwh, power_w=10.0, method="cpu_load_estimate")
    absent = ComponentEnergy(energy_kwh=0.0, power_w=0.0, method="none")
    return EmissionsMeasured(
        sequence=1, final=False, duration_seconds=5.0, cpu=component, gpu=absent, ram=absent, energy_kwh=kwh,
        emissions_g=grams, carbon_intensity_g_per_kwh=475.0, intensity_source="world average",
        intensity_is_fallback=True, pue=1.0,
    )  # fmt: skip


def requested(name: str) -> JobRequested:
    return JobRequested(name=name, config=TrainingConfig(base_model="tiny", dataset_id="d-1"))


def test_a_job_row_follows_the_job_and_sums_its_energy_even_when_carbon_comes_first() -> None:
    overview = Overview()
    overview.apply(envelope(emissions(0.001, 0.5), "job-1", producer="carbon"))  # read before the trainer's stream
    for event in (
        requested("first"),
        JobQueued(priority=0),
        JobStarted(worker_id="w", attempt=1, device="cpu", max_steps=100),
        TrainingProgressed(step=10, max_steps=100, epoch=0.5, loss=2.5, learning_rate=1e-3, tokens_per_second=900.0),
    ):
        overview.apply(envelope(event, "job-1"))
    overview.apply(envelope(emissions(0.002, 1.0), "job-1", producer="carbon"))

    [row] = overview.job_rows()
    assert (row["status"], row["step"], row["max_steps"], row["last_loss"]) == ("RUNNING", 10, 100, 2.5)
    assert row["tokens_per_second"] == 900.0 and row["base_model"] == "tiny" and row["dataset_id"] == "d-1"
    assert abs(row["energy_kwh"] - 0.003) < 1e-12 and abs(row["emissions_g"] - 1.5) < 1e-12


def test_jobs_are_listed_newest_first_and_a_failure_says_why() -> None:
    overview = Overview()
    overview.apply(envelope(requested("older"), "job-1"))
    overview.apply(envelope(requested("newer"), "job-2"))
    overview.apply(envelope(JobFailed(category="ResourceError", message="out of memory: lower batch_size"), "job-1"))

    newer, older = overview.job_rows()
    assert (newer["name"], newer["status"]) == ("newer", "PENDING")
    assert older["status"] == "FAILED"
    assert older["failure"] == {"category": "ResourceError", "message": "out of memory: lower batch_size"}


def test_datasets_carry_their_validation_and_base_models_their_shape() -> None:
    overview = Overview()
    registered = DatasetRegistered(name="facts.jsonl", uri="file:///x", sha256=SHA, size_bytes=10, file_format="jsonl")
    overview.apply(envelope(registered, "d-1"))
    overview.apply(envelope(DatasetValidated(valid=False, data_format="messages", rows=3), "d-1"))
    model = BaseModelRegistered(
        name="tiny", uri="file:///m", sha256=SHA, size_bytes=99, source="/m", architecture="LlamaForCausalLM",
        parameters=1000,
    )  # fmt: skip
    overview.apply(envelope(model, "tiny"))

    [dataset] = overview.dataset_rows()
    assert (dataset["name"], dataset["valid"], dataset["rows"], dataset["data_format"]) == (
        "facts.jsonl", False, 3, "messages",
    )  # fmt: skip
    assert overview.base_model_rows()[0]["architecture"] == "LlamaForCausalLM"
