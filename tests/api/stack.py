"""Every service behind one gateway, on a nats-server of the test's own (what it records must not
reach other tests): the trainer's intake (no worker: jobs stay queued), the carbon service, the
registry (its own process) and the inference service (no engine loaded), then the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client

from contracts import Actor
from services.carbon.app import CarbonService
from services.carbon.config import CarbonSettings
from services.registry.client import RegistryClient
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.errors import BusUnavailableError
from services.runtime.jetstream import connect
from services.runtime.settings import KernelSettings
from services.trainer.app import build_context, intake
from services.trainer.config import TrainerSettings
from tests.api.conftest import serving
from tests.inference.conftest import Service, StoredModels, start_service


@dataclass
class Stack:
    nc: Client
    url: str  # the gateway's
    inference: Service
    nats_url: str
    stored_models: StoredModels
    tmp_path: Path

    async def stop_inference(self) -> None:
        await self.inference.app.close()

    async def start_inference(self) -> None:
        self.inference = await start_service(self.nats_url, self.stored_models, self.tmp_path / "cache", self.nc)


@contextlib.asynccontextmanager
async def registry_running(nc: Client, nats_url: str, data: Path, artifacts: Path) -> AsyncIterator[None]:
    """The registry service in its own process, once it answers."""
    env = {**os.environ, "GREENTUNE_NATS_URL": nats_url, "GREENTUNE_DATA_DIR": str(data),
           "GREENTUNE_ARTIFACTS_ROOT": str(artifacts)}  # fmt: skip
    data.mkdir(parents=True)
    with open(data / "registry.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "services.registry.app"], env=env, stdout=log, stderr=log)
    try:
        async with asyncio.timeout(120):
            while True:
                assert process.poll() is None, (data / "registry.log").read_text()
                with contextlib.suppress(BusUnavailableError):
                    await RegistryClient(nc, Actor(kind="cli", id="tests")).ask("version_rows", timeout=2.0)
                    break
                await asyncio.sleep(0.5)
        yield
    finally:
        process.terminate()
        process.wait(30)


@contextlib.asynccontextmanager
async def every_service(nats_url: str, stored_models: StoredModels, tmp_path: Path) -> AsyncIterator[Stack]:
    kernel = KernelSettings(data_dir=tmp_path / "data", nats_url=nats_url)
    trainer = build_context(kernel, TrainerSettings())
    nc = await connect(nats_url, "tests-stack")
    stack = Stack(nc, "", await start_service(nats_url, stored_models, tmp_path / "cache", nc), nats_url,
                  stored_models, tmp_path)  # fmt: skip
    carbon = CarbonService.open(
        nc, CarbonSettings(view_path=tmp_path / "carbon.sqlite"), kernel, LocalArtifactStore(tmp_path / "carbon")
    )
    try:
        registry = registry_running(nc, nats_url, tmp_path / "registry", stored_models.store.root)
        async with intake(trainer, nc), carbon, registry, serving(nats_url, kernel.data_dir) as url:
            stack.url = url
            yield stack
    finally:
        await stack.inference.app.close()
        await nc.close()
