"""The test servers themselves: infra configs load, the S3 API answers the minio SDK."""

from __future__ import annotations

import io
import subprocess
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from minio import Minio

from services.runtime.nats_server import find_nats_server

INFRA = Path(__file__).resolve().parents[2] / "infra" / "nats"


@pytest.mark.parametrize("config", sorted(INFRA.rglob("*.conf")), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_nats_config_is_valid_and_fsyncs_each_write(config, tmp_path):
    checked = subprocess.run(
        [find_nats_server(), "-c", str(config), "-t"],
        capture_output=True,
        text=True,
        env={"GREENTUNE_NATS_STORE_DIR": str(tmp_path)},
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
    assert "sync_interval: always" in config.read_text()


def test_s3_server_serves_put_get_and_presigned_urls(s3_endpoint):
    client = Minio(
        s3_endpoint.endpoint,
        access_key=s3_endpoint.access_key,
        secret_key=s3_endpoint.secret_key,
        secure=s3_endpoint.secure,
        region="us-east-1",
    )
    client.make_bucket("harness-check")
    client.put_object("harness-check", "a/b.txt", io.BytesIO(b"hello"), 5)
    assert client.get_object("harness-check", "a/b.txt").read() == b"hello"
    url = client.presigned_get_object("harness-check", "a/b.txt", expires=timedelta(minutes=1))
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"hello"
