"""Where the tests' nats-server comes from: $NATS_URL, else testcontainers, else the local binary."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from services.runtime.nats_server import NatsServer
from tests.harness.docker import docker_available


@dataclass
class NatsBackend:
    url: str
    kind: str  # env | testcontainers | binary
    server: NatsServer | None  # only a local binary can take SIGKILL/SIGSTOP


@contextmanager
def nats_backend() -> Iterator[NatsBackend]:
    if url := os.environ.get("NATS_URL"):
        yield NatsBackend(url, "env", None)
        return
    if docker_available():
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.waiting_utils import wait_for_logs

        container = (
            DockerContainer("nats:2.12-alpine").with_command("-js --sync_interval=always").with_exposed_ports(4222)
        )
        with container:
            wait_for_logs(container, "Server is ready")
            yield NatsBackend(
                f"nats://{container.get_container_host_ip()}:{container.get_exposed_port(4222)}",
                "testcontainers",
                None,
            )
        return
    with NatsServer() as server:
        yield NatsBackend(server.url, "binary", server)
