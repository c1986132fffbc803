"""A property-based run of Schemathesis over the API's own /openapi.json, against the real services
on a nats-server of its own (what it records must not reach other tests): the trainer's intake
(with the tiny base model, the demo dataset and one queued job recorded), the carbon service, the
registry (its own process) and the inference service (no engine loaded: chats name models it does
not serve). Every operation of `/api/v1` and `/v1` gets
generated valid and invalid requests; no answer may be a 5xx, each must have a documented status
and content type and match its schema, and invalid input must be refused with a 4xx. Schemathesis
prints each operation's cases and outcome.

A job's live feed (`/api/v1/jobs/{job_id}/events`, which stays open with `follow=true`) is left
out: tests/api/test_jobs_api.py reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contracts import Actor
from services.carbon.app import CarbonService
from services.carbon.config import CarbonSettings
from services.registry.client import RegistryClient
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.errors import BusUnavailableError
from services.runtime.jetstream import connect
from services.runtime.settings import KernelSettings
from services.trainer.app import build_context, intake
from services.trainer.client import ask
from services.trainer.commands import Command, CreateJob, RegisterBaseModel, RegisterDataset
from services.trainer.config import TrainerSettings
from tests.api.conftest import API_KEY, serving
from tests.inference.conftest import StoredModels, start_service
from tests.trainer.conftest import ACTOR, DEMO, DEMO_CONFIG

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
    "negative_data_rejection"
)
EXAMPLES = 100  # generated cases per operation in the fuzzing phase (the coverage phase adds its own)


async def _ok(nc, command: Command) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return dict((await ask(nc, command, timeout=120)).model_dump(mode="json"))


@contextlib.asynccontextmanager
async def registry_running(nc, nats_url: str, data: Path, artifacts: Path) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]
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


async def test_generated_requests_get_no_server_error_and_only_documented_answers(
    nats_server, stored_models: StoredModels, tiny_model_dir: Path, tmp_path: Path
):  # type: ignore[no-untyped-def]
    kernel = KernelSettings(data_dir=tmp_path / "data", nats_url=nats_server.url)
    trainer = build_context(kernel, TrainerSettings())
    nc = await connect(nats_server.url, "openapi-properties")
    inference = await start_service(nats_server.url, stored_models, tmp_path / "cache", nc)
    carbon = CarbonService.open(
        nc, CarbonSettings(view_path=tmp_path / "carbon.sqlite"), kernel, LocalArtifactStore(tmp_path / "carbon")
    )
    try:
        registry = registry_running(nc, nats_server.url, tmp_path / "registry", stored_models.store.root)
        async with intake(trainer, nc), carbon, registry, serving(nats_server.url, kernel.data_dir) as url:
            await _ok(nc, RegisterBaseModel(actor=ACTOR, model_name="tiny", source=str(tiny_model_dir)))
            dataset = await _ok(nc, RegisterDataset(actor=ACTOR, path=str(DEMO), base_model="tiny"))
            await _ok(nc, CreateJob(actor=ACTOR, config={**DEMO_CONFIG, "dataset_id": dataset["dataset_id"]}))
            run = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "schemathesis.cli", "--no-color", "run", f"{url}/openapi.json",
                "--header", f"Authorization: Bearer {API_KEY}", "--checks", CHECKS,
                "--max-examples", str(EXAMPLES), "--seed", "1", "--workers", "1", "--request-timeout", "120",
                "--exclude-path", "/api/v1/jobs/{job_id}/events", "--suppress-health-check", "all",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,  # its cache there
            )  # fmt: skip
            output = (await run.communicate())[0].decode(errors="replace")
    finally:
        await inference.app.close()
        await nc.close()
    print(output)  # every operation with its cases and checks
    assert run.returncode == 0, output[-8000:]
    assert "/api/v1/jobs" in output and "/v1/chat/completions" in output, "every operation was run"
