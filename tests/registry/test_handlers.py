"""The registry's handlers through their real wiring: eventsourcing store on SQLite, a local artifact
store holding the tiny model's real exports, and the job's facts as the log would return them."""

from __future__ import annotations

import json
from pathlib import Path

import nats
import nats.errors
import pytest
import yaml  # type: ignore[import-untyped]

from contracts import Envelope
from contracts.events.models import BaseModelRegistered, ModelFootprintRecorded
from services.registry.adapters.rpc import RPC, RegistryHandlers
from services.registry.domain import VersionNotDeletedError, VersionStillAliasedError, model_name_for
from services.registry.event_store import RegistryEventStore
from services.registry.handlers import SYSTEM, Registry
from services.registry.read_model import RegistryView
from services.runtime import rpc
from services.runtime.artifacts import layout
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.settings import KernelSettings
from tests.registry.conftest import DATASET_SHA, export_to_store, new_job


class LoggedFacts:
    """EventHistory over a list: what the event log would return for each aggregate."""

    def __init__(self) -> None:
        self.log: list[Envelope] = []

    def aggregate_events(self, aggregate_type: str, aggregate_id: str) -> list[Envelope]:
        return [e for e in self.log if (e.aggregate_type, e.aggregate_id) == (aggregate_type, aggregate_id)]

    def base_models(self) -> list[BaseModelRegistered]:
        return [e.event for e in self.log if isinstance(e.event, BaseModelRegistered)]


@pytest.fixture
def wired(tmp_path: Path) -> tuple[Registry, LoggedFacts, LocalArtifactStore]:
    facts, artifacts = LoggedFacts(), LocalArtifactStore(tmp_path / "artifacts")
    store = RegistryEventStore(KernelSettings(data_dir=tmp_path))
    return Registry(store, artifacts, facts, verifier=None, match_threshold=0.9), facts, artifacts


def _run_job(registry: Registry, facts: LoggedFacts, artifacts: LocalArtifactStore, finetuned: Path, base: str,
             final_emissions_last: bool = False) -> tuple[str, list[Envelope]]:  # fmt: skip
    """Log a job's facts up to its ModelExported and hand that to the registry; returns what is still to come."""
    job = new_job(base)
    history = job.history(export_to_store(artifacts, finetuned, job.job_id), final_emissions_last)
    cut = next(i for i, e in enumerate(history) if e.event.type_name() == "ModelExported") + 1
    facts.log += [job.dataset_registered(), *history[:cut]]
    registry.on_event(history[cut - 1])
    return job.job_id, history[cut:]


def test_an_export_registers_version_1_with_its_lineage_and_a_model_card(wired, tiny_finetuned_dir, tiny_model_dir):
    registry, facts, artifacts = wired
    job_id, _ = _run_job(registry, facts, artifacts, tiny_finetuned_dir, str(tiny_model_dir))
    exported = facts.log[-1]

    model = registry.store.get(model_name_for(str(tiny_model_dir)))
    registered = model.get_version(1).registered
    assert (registered.job_id, registered.dataset_sha256) == (job_id, DATASET_SHA)
    assert registered.config is not None and registered.config.lora.rank == 64
    assert registered.metrics is not None and registered.metrics.steps == 520
    assert registered.footprint is not None and registered.footprint.complete
    assert registered.footprint.emissions_g == pytest.approx(2 * 5.6e-3)  # two intervals, grams
    assert [a.kind for a in registered.artifacts] == ["lora", "merged_16bit"]
    card = (artifacts.root / layout.model_card(job_id)).read_text()
    metadata = yaml.safe_load(card.split("---")[1])
    assert metadata["co2_eq_emissions"]["emissions"] == pytest.approx(0.0112)
    assert metadata["co2_eq_emissions"]["geographical_location"] == "FRA"
    assert registered.model_card_uri == artifacts.uri(layout.model_card(job_id))
    assert registry.store.outbox_after(0, 10)[0][1].causation_id == str(exported.event_id)


def test_a_second_job_on_the_same_base_is_version_2_and_a_redelivery_changes_nothing(
    wired, tiny_finetuned_dir, tiny_model_dir
):
    registry, facts, artifacts = wired
    _run_job(registry, facts, artifacts, tiny_finetuned_dir, str(tiny_model_dir))
    first_export = facts.log[-1]
    second_job, _ = _run_job(registry, facts, artifacts, tiny_finetuned_dir, str(tiny_model_dir))
    registry.on_event(first_export)  # the consumer redelivers an export it had already handled

    model = registry.store.get(model_name_for(str(tiny_model_dir)))
    assert sorted(model.versions) == [1, 2]
    assert model.version_of_job(second_job) == 2
    assert registry.store.outbox_head() == 2


def test_a_final_footprint_logged_after_the_export_updates_the_version_and_its_card(
    wired, tiny_finetuned_dir, tiny_model_dir
):
    registry, facts, artifacts = wired
    job_id, later = _run_job(registry, facts, artifacts, tiny_finetuned_dir, str(tiny_model_dir), True)
    name = model_name_for(str(tiny_model_dir))
    assert registry.store.get(name).get_version(1).footprint.complete is False  # only interval 1 so far

    final = later[0]
    facts.log.append(final)
    registry.on_event(final)
    registry.on_event(final)  # redelivered: recorded once

    version = registry.store.get(name).get_version(1)
    assert version.footprint is not None and version.footprint.complete and version.footprint.intervals == 2
    recorded = [env.event for _, env in registry.store.outbox_after(0, 10)]
    assert [type(e) for e in recorded].count(ModelFootprintRecorded) == 1
    assert "0.0112" in (artifacts.root / layout.model_card(job_id)).read_text()


def test_deleted_versions_keep_their_artifacts_until_the_retention_rule_purges_them(
    wired, tiny_finetuned_dir, tiny_model_dir
):
    registry, facts, artifacts = wired
    job_id, _ = _run_job(registry, facts, artifacts, tiny_finetuned_dir, str(tiny_model_dir))
    name = model_name_for(str(tiny_model_dir))
    registry.set_alias(name, "staging", 1, SYSTEM)
    with pytest.raises(VersionStillAliasedError, match="staging"):
        registry.delete(name, 1, "superseded", SYSTEM)

    second_job, _ = _run_job(registry, facts, artifacts, tiny_finetuned_dir, str(tiny_model_dir))
    registry.set_alias(name, "staging", 2, SYSTEM)
    assert registry.delete(name, 1, "superseded", SYSTEM)
    assert artifacts.exists(layout.finetuned_model(job_id, "lora"))  # soft delete: files kept

    with pytest.raises(VersionNotDeletedError, match="v2 is active"):
        registry.purge([(name, 2)], "deleted for >= 0 days", SYSTEM)
    assert artifacts.exists(layout.finetuned_model(second_job, "lora"))
    assert registry.purge([(name, 1)], "deleted for >= 0 days", SYSTEM) == 1
    assert registry.purge([(name, 1)], "deleted for >= 0 days", SYSTEM) == 0  # already purged
    assert not artifacts.exists(layout.finetuned_model(job_id, "lora"))
    assert not artifacts.exists(layout.model_card(job_id))
    assert registry.store.get(name).get_version(1).purged


def test_the_read_model_rebuilt_from_the_events_shows_every_state_change(wired, tiny_finetuned_dir, tiny_model_dir):
    registry, facts, artifacts = wired
    name = model_name_for(str(tiny_model_dir))
    for _ in range(3):
        _run_job(registry, facts, artifacts, tiny_finetuned_dir, str(tiny_model_dir))
    registry.set_alias(name, "production", 3, SYSTEM)
    registry.deprecate(name, 2, "older data", SYSTEM)
    registry.delete(name, 1, "superseded", SYSTEM)
    registry.purge([(name, 1)], "deleted for >= 0 days", SYSTEM)

    view = RegistryView.open(artifacts.root.parent / "view.sqlite")
    view.apply(registry.store.outbox_after(0, 100))  # outbox positions stand in for stream sequences

    assert [(v["version"], v["status"], v["purged"]) for v in view.versions(name, include_deleted=True)] == [
        (1, "deleted", 1),
        (2, "deprecated", 0),
        (3, "active", 0),
    ]
    assert view.catalogue() == [
        {"name": name, "latest_version": 3, "versions": 2, "base_model": str(tiny_model_dir),
         "updated_at": view.version(name, 3)["registered_at"], "aliases": {"production": 3}}
    ]  # fmt: skip


async def test_rpc_requests_get_errors_that_say_what_is_wrong(wired, tmp_path, nats_server):
    registry, _, _ = wired
    handlers = RegistryHandlers(registry, RegistryView.open(tmp_path / "view.sqlite"), retention_days=30)
    nc = await nats.connect(nats_server.url)
    broker = rpc.broker(nc, RPC, handlers)
    await rpc.start(broker)
    try:
        invalid = await _request(nc, "set_alias", {"name": "tiny-ft", "alias": "Prod!"})
        unknown = await _request(nc, "show", {"name": "nope-ft"})
        with pytest.raises(nats.errors.NoRespondersError):
            await nc.request("rpc.registry.rename", b"{}", timeout=5)
    finally:
        await broker.stop()
        await nc.close()

    assert (invalid["error"]["status"], invalid["error"]["code"]) == (400, "InvalidRequest")
    assert {p["field"] for p in invalid["error"]["problems"]} == {"alias", "version"}
    assert (unknown["error"]["status"], unknown["error"]["code"]) == (404, "UnknownModelError")
    assert unknown["error"]["detail"] == "no model named 'nope-ft' is registered"


async def _request(nc, method: str, body: dict) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return json.loads((await nc.request(f"rpc.registry.{method}", json.dumps(body).encode(), timeout=10)).data)
