"""What each adapter does beyond the shared contract: S3 multipart and metadata, local key safety."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from minio import Minio

from services.runtime.artifacts import ArtifactError, ArtifactSettings, open_artifact_store
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.artifacts.s3 import SHA_HEADER, S3ArtifactStore
from tests.harness.s3 import S3Endpoint


def test_s3_uploads_large_files_in_parts_with_the_sha256_as_metadata(s3_endpoint: S3Endpoint, tmp_path: Path) -> None:
    bucket = f"specifics-{uuid.uuid4().hex[:10]}"
    store = S3ArtifactStore(
        s3_endpoint.endpoint, s3_endpoint.access_key, s3_endpoint.secret_key, bucket,
        secure=s3_endpoint.secure, part_size=5 << 20,
    )  # fmt: skip
    source = tmp_path / "w.bin"
    source.write_bytes(os.urandom(11 << 20))
    stored = store.put_file("models/base/m/w.bin", source)

    raw = Minio(s3_endpoint.endpoint, s3_endpoint.access_key, s3_endpoint.secret_key, secure=s3_endpoint.secure)
    stat = raw.stat_object(bucket, "models/base/m/w.bin")
    assert stat.etag.endswith("-3")  # three parts: 5 + 5 + 1 MiB
    assert stat.metadata[SHA_HEADER] == stored.sha256
    assert stored.uri == f"s3://{bucket}/models/base/m/w.bin"
    assert "X-Amz-Signature=" in store.download_url("models/base/m/w.bin")


def test_s3_settings_name_every_missing_value_at_once() -> None:
    with pytest.raises(ValueError, match=r"GREENTUNE_ARTIFACTS_S3_ENDPOINT.*S3_ACCESS_KEY.*S3_SECRET_KEY"):
        ArtifactSettings(backend="s3")


def test_the_settings_open_a_local_store_under_the_data_dir_by_default(tmp_path: Path) -> None:
    store = open_artifact_store(ArtifactSettings(), tmp_path)

    assert isinstance(store, LocalArtifactStore)
    assert store.root == (tmp_path / "artifacts").resolve()


def test_local_keys_cannot_leave_the_root_or_touch_the_hash_records(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "root")
    source = tmp_path / "f"
    source.write_bytes(b"x")
    for key in ("../outside", "models/../../outside", ".greentune-meta/models/x.json"):
        with pytest.raises(ArtifactError, match=r"escapes|metadata"):
            store.put_file(key, source)
    store.put_file("models/x", source)
    assert store.list_keys("") == ["models/x"]  # hash records and staging files are never listed
