"""Fixtures of the API gateway tests: the inference service of tests/inference (real vLLM on the
tiny models, real nats-server) with the gateway in front of it, served by uvicorn on a free port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from pydantic import SecretStr

from services.api.app import create_app
from services.api.config import ApiSettings
from services.runtime.settings import KernelSettings
from tests.inference.conftest import Service, service, stored_models  # noqa: F401  # the fixtures, shared

API_KEY = "sk-test-greentune"


@dataclass(frozen=True)
class Gateway:
    url: str  # http://127.0.0.1:<port>
    inference: Service


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gateway(service: Service, shared_nats) -> AsyncIterator[Gateway]:  # type: ignore[no-untyped-def]  # noqa: F811
    import uvicorn

    settings = ApiSettings(port=free_port(), keys={"tester": SecretStr(API_KEY)})
    app = create_app(settings, KernelSettings(nats_url=shared_nats.url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn exited during start-up"
        await asyncio.sleep(0.05)
    yield Gateway(f"http://127.0.0.1:{settings.port}", service)
    server.should_exit = True
    await task
