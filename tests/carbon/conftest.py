"""Carbon fixtures: the process's real CodeCarbon meter, a running carbon service over the test
nats-server, and helpers that publish the other services' events the read model reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest

from contracts import Actor, DomainEvent, Envelope
from contracts.events.jobs import JobCompleted, JobRequested, JobStarted
from contracts.training_config import TrainingConfig
from services.carbon.app import CarbonService
from services.carbon.config import CarbonSettings
from services.carbon.metering import process_meter
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.energy import EnergyMeter
from services.runtime.publisher import EventPublisher
from services.runtime.settings import KernelSettings

ALICE = Actor(kind="api_key", id="key-alice")


@pytest.fixture(scope="session")
def meter() -> EnergyMeter:
    """The process's CodeCarbon meter (hardware probed once per test session)."""
    return process_meter()


@pytest.fixture
async def carbon(nc, tmp_path: Path) -> AsyncIterator[CarbonService]:  # type: ignore[no-untyped-def]
    settings = CarbonSettings(view_path=tmp_path / "carbon.sqlite")
    store = LocalArtifactStore(tmp_path / "artifacts")
    async with CarbonService.open(nc, settings, KernelSettings(data_dir=tmp_path), store) as service:
        yield service


async def publish(nc, event: DomainEvent, aggregate_id: str, actor: Actor = ALICE, producer: str = "trainer") -> int:  # type: ignore[no-untyped-def]
    return await EventPublisher(nc).publish(
        Envelope.new(event, producer=producer, aggregate_id=aggregate_id, actor=actor)
    )


async def request_job(nc, actor: Actor = ALICE, base_model: str = "tiny", max_steps: int = 100) -> str:  # type: ignore[no-untyped-def]
    job_id = str(uuid4())
    config = TrainingConfig(base_model=base_model, dataset_id="demo", max_steps=max_steps)
    await publish(nc, JobRequested(config=config), job_id, actor)
    await publish(nc, JobStarted(worker_id="w1", attempt=1, device="cpu", max_steps=max_steps), job_id, actor)
    return job_id


async def complete_job(nc, job_id: str, tokens: int, actor: Actor = ALICE) -> None:  # type: ignore[no-untyped-def]
    await publish(nc, JobCompleted(steps=100, tokens_trained=tokens, train_seconds=1.0), job_id, actor)


async def busy(seconds: float) -> None:
    """Real CPU work off the event loop, so the meter has something to measure."""

    def spin() -> None:
        import time

        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            sum(range(10_000))

    await asyncio.to_thread(spin)
