"""Where the tests' S3 API comes from: $S3_ENDPOINT, else testcontainers MinIO, else moto's server.

moto checks no credentials and no presigned expiry: auth is tested elsewhere.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.harness.docker import docker_available


@dataclass(frozen=True)
class S3Endpoint:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    secure: bool
    kind: str  # env | testcontainers | moto


@contextmanager
def s3_backend() -> Iterator[S3Endpoint]:
    if endpoint := os.environ.get("S3_ENDPOINT"):
        yield S3Endpoint(
            endpoint,
            os.environ["S3_ACCESS_KEY"],
            os.environ["S3_SECRET_KEY"],
            os.environ.get("S3_SECURE") == "1",
            "env",
        )
        return
    if docker_available():
        from testcontainers.minio import MinioContainer

        with MinioContainer() as minio:
            config = minio.get_config()
            yield S3Endpoint(config["endpoint"], config["access_key"], config["secret_key"], False, "testcontainers")
        return
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Endpoint(f"{host}:{port}", "testing", "testing", False, "moto")
    finally:
        server.stop()
