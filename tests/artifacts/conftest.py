"""One contract suite, every adapter: each test runs against a local folder and a real S3 API.

`tamper(key, data)` changes an object's bytes behind the store's back (bit rot, a bad copy, a
hand edit), keeping the hash recorded at upload, so tests can check that loads catch it.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from minio import Minio

from services.runtime.artifacts import ArtifactStore
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.artifacts.s3 import SHA_HEADER, S3ArtifactStore
from tests.harness.s3 import S3Endpoint

PART_SIZE = 5 << 20  # the S3 minimum, so a 12 MiB file goes up in 3 parts


@dataclass
class StoreUnderTest:
    store: ArtifactStore
    kind: str
    tamper: Callable[[str, bytes], None]


def _local(root: Path) -> StoreUnderTest:
    store = LocalArtifactStore(root)
    return StoreUnderTest(store, "local", lambda key, data: (root / key).write_bytes(data))


def _s3(endpoint: S3Endpoint) -> StoreUnderTest:
    bucket = f"contract-{uuid.uuid4().hex[:12]}"
    store = S3ArtifactStore(
        endpoint.endpoint,
        endpoint.access_key,
        endpoint.secret_key,
        bucket,
        secure=endpoint.secure,
        part_size=PART_SIZE,
    )
    raw = Minio(endpoint.endpoint, endpoint.access_key, endpoint.secret_key, secure=endpoint.secure)

    def tamper(key: str, data: bytes) -> None:
        recorded = raw.stat_object(bucket, key).metadata[SHA_HEADER]
        raw.put_object(bucket, key, io.BytesIO(data), len(data), metadata={SHA_HEADER: recorded})

    return StoreUnderTest(store, "s3", tamper)


@pytest.fixture(params=["local", "s3"])
def sut(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreUnderTest]:
    if request.param == "local":
        yield _local(tmp_path_factory.mktemp("store"))
    else:
        yield _s3(request.getfixturevalue("s3_endpoint"))
