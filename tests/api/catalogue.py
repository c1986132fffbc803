"""A model catalogue for the API and dashboard tests: the real registry service (its own process, on
the shared nats-server and the inference tests' artifact store), fed what the trainer would publish
for three jobs on the tiny base: one whose LoRA export is the demo adapter (registered and verified
in vLLM), one whose export's bytes do not match its sha256 (fails verification), and one that is
then deleted. One per test session: verifying a version runs vLLM (~1 min on 2 cores)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts import Actor
from contracts.events.models import ArtifactRef
from services.registry.client import RegistryClient
from services.registry.domain import model_name_for
from services.registry.replies import ModelVersionRow
from services.runtime.errors import BusUnavailableError
from services.runtime.jetstream import connect
from services.runtime.publisher import EventPublisher
from tests.inference.conftest import StoredModels
from tests.registry.conftest import base_registered, new_job

VERIFY_WAIT_S = 600.0  # seconds: vLLM and transformers each load the tiny model on a shared CPU
TESTER = Actor(kind="cli", id="tests")


@dataclass(frozen=True)
class Catalogue:
    name: str  # the registry's model of the tiny base: `tiny-ft`
    verified: int  # version numbers
    failed: int
    deleted: int
    job_ids: dict[int, str]  # version -> the job it came from


async def _publish_jobs(nats_url: str, models: StoredModels) -> list[str]:
    lora = ArtifactRef(kind="lora", uri=models.demo_adapter.uri or "", size_bytes=1, sha256=models.demo_adapter.sha256)
    corrupt = lora.model_copy(update={"sha256": "0" * 64})  # the bytes in the store hash otherwise
    nc = await connect(nats_url, "catalogue-tests")
    try:
        publisher = EventPublisher(nc)
        await publisher.publish(base_registered("tiny", models.base.uri or "", models.base.sha256))
        job_ids = []
        for artifacts in ((lora,), (corrupt,), (corrupt,)):
            job = new_job("tiny")
            for envelope in [job.dataset_registered(), *job.history(artifacts)]:
                await publisher.publish(envelope)
            job_ids.append(job.job_id)
        return job_ids
    finally:
        await nc.close()


async def _registered(nats_url: str, job_ids: list[str], process: subprocess.Popen[bytes]) -> Catalogue:
    """Waits until every job's version has its verdict, then deletes the third."""
    nc = await connect(nats_url, "catalogue-tests-registry")
    registry = RegistryClient(nc, TESTER)
    try:
        async with asyncio.timeout(VERIFY_WAIT_S):
            while True:
                assert process.poll() is None, f"the registry exited with {process.returncode}"
                rows = await _rows(registry)
                mine = {r.job_id: r for r in rows if r.job_id in job_ids}
                if len(mine) == len(job_ids) and all(r.verified is not None for r in mine.values()):
                    break
                await asyncio.sleep(0.5)
        versions = [mine[job_id].version for job_id in job_ids]
        await registry.ask("delete", name=model_name_for("tiny"), version=versions[2], reason="trained on bad data")
        return Catalogue(model_name_for("tiny"), *versions, job_ids=dict(zip(versions, job_ids, strict=True)))
    finally:
        await nc.close()


async def _rows(registry: RegistryClient) -> list[ModelVersionRow]:
    """The catalogue, or nothing while the registry is still starting."""
    try:
        return list(await registry.ask("version_rows", timeout=5.0))
    except BusUnavailableError:
        return []


@pytest.fixture(scope="session")
def catalogue(shared_nats, stored_models: StoredModels, tmp_path_factory) -> Iterator[Catalogue]:  # type: ignore[no-untyped-def]
    data = tmp_path_factory.mktemp("registry")
    env = {
        **os.environ,
        "GREENTUNE_NATS_URL": shared_nats.url,
        "GREENTUNE_DATA_DIR": str(data),
        "GREENTUNE_ARTIFACTS_ROOT": str(stored_models.store.root),
        "GREENTUNE_REGISTRY_RUNTIME_KV_CACHE_MIB": "64",
    }
    log = data / "registry.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "services.registry.app"], env=env, stdout=out, stderr=out)
    try:
        job_ids = asyncio.run(_publish_jobs(shared_nats.url, stored_models))
        try:
            catalogued = asyncio.run(_registered(shared_nats.url, job_ids, process))
        except BaseException:
            print(Path(log).read_text(errors="replace")[-4000:])
            raise
        yield catalogued
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
