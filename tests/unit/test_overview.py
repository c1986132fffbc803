"""The dashboard's overview folds jobs, datasets and base models from their events, whatever the
order in which the trainer's and the carbon service's streams reach it, and lists them a page at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts import Actor, DomainEvent, Envelope
from contracts.events.carbon import ComponentEnergy, EmissionsMeasured
from contracts.events.datasets import DatasetRegistered, DatasetValidated
from contracts.events.jobs import JobFailed, JobQueued, JobRequested, JobStarted, TrainingProgressed
from contracts.events.keys import ApiKeyRevoked
from contracts.events.models import BaseModelRegistered
from contracts.training_config import TrainingConfig
from services.api.auth import ANONYMOUS, AuthError, actor_for
from services.api.overview import OverviewView
from services.registry.keys import issue

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


class Overview:
    """The view on a file of its own, fed one event at a time at increasing stream positions."""

    def __init__(self, path: Path) -> None:
        self.view, self.position = OverviewView.open(path / "overview.sqlite"), 0

    def apply(self, envelope: Envelope) -> None:
        self.position += 1
        assert self.view.apply([(self.position, envelope)]) == 1


def requested(name: str) -> JobRequested:
    return JobRequested(name=name, config=TrainingConfig(base_model="tiny", dataset_id="d-1"))


def test_a_job_row_follows_the_job_and_sums_its_energy_even_when_carbon_comes_first(tmp_path: Path) -> None:
    overview = Overview(tmp_path)
    overview.apply(envelope(emissions(0.001, 0.5), "job-1", producer="carbon"))  # read before the trainer's stream
    for event in (
        requested("first"),
        JobQueued(priority=0),
        JobStarted(worker_id="w", attempt=1, device="cpu", max_steps=100),
        TrainingProgressed(step=10, max_steps=100, epoch=0.5, loss=2.5, learning_rate=1e-3, tokens_per_second=900.0),
    ):
        overview.apply(envelope(event, "job-1"))
    overview.apply(envelope(emissions(0.002, 1.0), "job-1", producer="carbon"))

    [row] = overview.view.jobs(limit=10)
    assert (row.status, row.step, row.max_steps, row.last_loss) == ("RUNNING", 10, 100, 2.5)
    assert row.tokens_per_second == 900.0 and row.base_model == "tiny" and row.dataset_id == "d-1"
    assert row.energy_kwh is not None and abs(row.energy_kwh - 0.003) < 1e-12
    assert row.emissions_g is not None and abs(row.emissions_g - 1.5) < 1e-12


def test_jobs_are_listed_newest_first_a_page_at_a_time_and_a_failure_says_why(tmp_path: Path) -> None:
    overview = Overview(tmp_path)
    for index in range(5):
        overview.apply(envelope(requested(f"job {index}"), f"job-{index}"))
    overview.apply(envelope(JobFailed(category="ResourceError", message="out of memory: lower batch_size"), "job-1"))

    first, second, last = (overview.view.jobs(limit=2, offset=offset) for offset in (0, 2, 4))
    assert [row.name for row in first + second + last] == ["job 4", "job 3", "job 2", "job 1", "job 0"]
    assert overview.view.count("jobs") == 5
    failed = second[1]
    assert (failed.status, first[0].status) == ("FAILED", "PENDING")
    assert failed.failure is not None and failed.failure.model_dump() == {
        "category": "ResourceError", "message": "out of memory: lower batch_size",
    }  # fmt: skip


def test_the_overview_is_kept_between_opens_and_a_redelivered_event_is_applied_once(tmp_path: Path) -> None:
    overview = Overview(tmp_path)
    overview.apply(envelope(requested("kept"), "job-1"))
    overview.apply(envelope(emissions(0.001, 0.5), "job-1", producer="carbon"))

    reopened = OverviewView.open(tmp_path / "overview.sqlite")
    assert reopened.position() == 2
    assert reopened.apply([(2, envelope(emissions(0.001, 0.5), "job-1", producer="carbon"))]) == 0
    [row] = reopened.jobs(limit=10)
    assert (row.name, row.energy_kwh) == ("kept", 0.001)


def test_datasets_carry_their_validation_and_base_models_their_shape(tmp_path: Path) -> None:
    overview = Overview(tmp_path)
    registered = DatasetRegistered(name="facts.jsonl", uri="file:///x", sha256=SHA, size_bytes=10, file_format="jsonl")
    overview.apply(envelope(registered, "d-1"))
    overview.apply(envelope(DatasetValidated(valid=False, data_format="messages", rows=3), "d-1"))
    model = BaseModelRegistered(
        name="tiny", uri="file:///m", sha256=SHA, size_bytes=99, source="/m", architecture="LlamaForCausalLM",
        parameters=1000,
    )  # fmt: skip
    overview.apply(envelope(model, "tiny"))

    [dataset] = overview.view.datasets(limit=10)
    assert (dataset.name, dataset.valid, dataset.rows, dataset.data_format) == ("facts.jsonl", False, 3, "messages")
    assert overview.view.base_models()[0].architecture == "LlamaForCausalLM"


def test_keys_are_known_by_their_hash_and_a_revoked_one_is_refused_even_after_a_restart(tmp_path: Path) -> None:
    overview = Overview(tmp_path)
    assert actor_for(None, overview.view) == ANONYMOUS  # no key yet: local single-user use
    (alice, alices), (bob, bobs) = issue("alice", "member", "acme", "k-alice"), issue("bob", "viewer", key_id="k-bob")
    overview.apply(envelope(alices, "k-alice", producer="registry"))
    overview.apply(envelope(bobs, "k-bob", producer="registry"))
    assert actor_for(alice, overview.view) == Actor(kind="api_key", id="k-alice", tenant="acme", role="member")
    assert actor_for(bob, overview.view) == Actor(kind="api_key", id="k-bob", tenant="bob", role="viewer")
    with pytest.raises(AuthError, match="missing API key"):
        actor_for(None, overview.view)
    with pytest.raises(AuthError, match="invalid or revoked"):
        actor_for(issue("eve", "admin")[0], overview.view)  # made, never recorded
    overview.apply(envelope(ApiKeyRevoked(reason="left"), "k-bob", producer="registry"))
    with pytest.raises(AuthError, match="invalid or revoked"):
        actor_for(bob, overview.view)
    reopened = OverviewView.open(tmp_path / "overview.sqlite")
    assert actor_for(alice, reopened).id == "k-alice"
    with pytest.raises(AuthError):
        actor_for(bob, reopened)


def test_lists_hold_only_the_callers_tenant_and_an_admin_sees_every_tenant(tmp_path: Path) -> None:
    overview = Overview(tmp_path)
    for job, tenant in (("job-a", "acme"), ("job-b", "beta"), ("job-o", None)):
        event = JobRequested(name=job, config=TrainingConfig(base_model="tiny", dataset_id="d-1"), owner=tenant)
        overview.apply(envelope(event, job))
    dataset = DatasetRegistered(
        name="a.jsonl", uri="file:///a", sha256=SHA, size_bytes=1, file_format="jsonl", owner="acme"
    )
    overview.apply(envelope(dataset, "d-a"))
    acme = Actor(kind="api_key", id="k1", tenant="acme", role="viewer")
    admin = Actor(kind="api_key", id="k2", tenant="beta", role="admin")
    assert [j.job_id for j in overview.view.jobs(10, actor=acme)] == ["job-a"]
    assert overview.view.count("jobs", acme) == 1 and overview.view.count("datasets", acme) == 1
    assert {j.job_id for j in overview.view.jobs(10, actor=admin)} == {"job-a", "job-b", "job-o"}
    beta = Actor(kind="api_key", id="k3", tenant="beta", role="member")
    assert [j.job_id for j in overview.view.jobs(10, actor=beta)] == ["job-b"]
    assert overview.view.datasets(10, actor=beta) == []
