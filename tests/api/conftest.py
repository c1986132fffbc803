"""Fixtures of the API gateway tests: the gateway served by uvicorn on a free port in front of the
real services: the inference service of tests/inference (real vLLM on the tiny models), the
trainer intake of tests/trainer (workers started on demand), the carbon service of tests/carbon
and the registry with a catalogue of three versions (tests/api/catalogue.py), over a real nats-server."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from services.api.app import create_app
from services.api.config import ApiSettings
from services.runtime.jetstream import connect, ensure_stream
from services.runtime.settings import KernelSettings
from tests.api.keys import publish_key
from tests.carbon.conftest import carbon  # noqa: F401
from tests.inference.conftest import Service, service  # noqa: F401
from tests.trainer.conftest import Trainer, trainer, trainer_ctx  # noqa: F401  # the fixtures, shared

API_KEY = "sk-test-greentune"
UPLOAD_LIMIT = 8_000_000  # bytes: the trainer gateway's GREENTUNE_API_MAX_UPLOAD_BYTES


@dataclass(frozen=True)
class Gateway:
    url: str  # http://127.0.0.1:<port>


@dataclass(frozen=True)
class InferenceGateway(Gateway):
    inference: Service


@dataclass(frozen=True)
class TrainerGateway(Gateway):
    trainer: Trainer


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem details (RFC 9457) an `/api/v1` error answers with, checked against its status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] == f"urn:greentune:problem:{body['code']}", body
    return body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_for_key(url: str, secret: str, timeout: float = 10.0) -> None:
    """Until the gateway at `url` takes the key `secret` (its ApiKeyCreated has reached the overview)."""
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {secret}"}) as http, asyncio.timeout(timeout):
        while (await http.get(f"{url}/api/v1/jobs")).status_code == 401:
            await asyncio.sleep(0.05)


@asynccontextmanager
async def serving(nats_url: str, data_dir: Path | None = None, **settings_: Any) -> AsyncIterator[str]:
    """The gateway on 127.0.0.1:<free port> with one API key, `tester` (an admin), and the artifact store
    and its overview under `data_dir` (the trainer's, when it takes uploads; else a new folder); yields
    its base URL."""
    import uvicorn

    nc = await connect(nats_url, "tests-keys")
    try:
        await ensure_stream(nc.jetstream())
        await publish_key(nc, API_KEY, "tester")
    finally:
        await nc.close()
    settings = ApiSettings(port=free_port(), **settings_)
    kernel = KernelSettings(nats_url=nats_url, data_dir=data_dir or Path(tempfile.mkdtemp(prefix="greentune-api-")))
    app = create_app(settings, kernel)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn exited during start-up"
        await asyncio.sleep(0.05)
    url = f"http://127.0.0.1:{settings.port}"
    try:
        async with httpx.AsyncClient() as http, asyncio.timeout(60):  # ready: the overview has replayed the log
            while (await http.get(f"{url}/healthz")).status_code != 200:
                await asyncio.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        await task


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gateway(service: Service, shared_nats, catalogue) -> AsyncIterator[InferenceGateway]:  # type: ignore[no-untyped-def]  # noqa: F811
    """The gateway on the shared nats-server, once its registry (the catalogue's) runs: its keys are
    issued through that registry, the one writer of `events.registry.>` there."""
    async with serving(shared_nats.url) as url:
        yield InferenceGateway(url, service)


@pytest_asyncio.fixture
async def trainer_gateway(trainer: Trainer, nats_server) -> AsyncIterator[TrainerGateway]:  # type: ignore[no-untyped-def]  # noqa: F811
    async with serving(nats_server.url, trainer.ctx.kernel.data_dir, max_upload_bytes=UPLOAD_LIMIT) as url:
        yield TrainerGateway(url, trainer)
