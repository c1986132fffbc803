"""Model folders come from the artifact store into the local cache only when their bytes check out."""

from __future__ import annotations

import shutil

import pytest

from services.inference.adapters.model_cache import StoreCache
from services.inference.domain import CorruptModelError, ModelLoadError
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.artifacts.s3 import S3ArtifactStore


@pytest.fixture
def store(tmp_path) -> LocalArtifactStore:  # type: ignore[no-untyped-def]
    return LocalArtifactStore(tmp_path / "store")


async def test_a_model_folder_comes_from_the_s3_api_verified(s3_endpoint, tmp_path, tiny_model_dir):
    s3 = S3ArtifactStore(
        s3_endpoint.endpoint,
        s3_endpoint.access_key,
        s3_endpoint.secret_key,
        "inference-cache",
        secure=s3_endpoint.secure,
    )
    stored = s3.put_folder("models/base/tiny", tiny_model_dir)
    folder = await StoreCache(s3, tmp_path / "cache").fetch(stored.key, stored.sha256)
    assert (folder / "model.safetensors").read_bytes() == (tiny_model_dir / "model.safetensors").read_bytes()
    with pytest.raises(CorruptModelError):
        await StoreCache(s3, tmp_path / "other-cache").fetch(stored.key, "f" * 64)


async def test_a_verified_folder_is_fetched_once_and_reused(store, tmp_path, tiny_model_dir):
    stored = store.put_folder("models/base/tiny", tiny_model_dir)
    cache = StoreCache(store, tmp_path / "cache")
    first = await cache.fetch(stored.key, stored.sha256)
    assert (first / "config.json").read_bytes() == (tiny_model_dir / "config.json").read_bytes()
    shutil.rmtree(store.root / "models")  # gone from the store: the cached copy still serves
    assert await cache.fetch(stored.key, stored.sha256) == first


async def test_a_corrupted_model_is_refused_and_nothing_is_cached(store, tmp_path, tiny_model_dir):
    stored = store.put_folder("models/base/tiny", tiny_model_dir)
    weights = store.root / "models/base/tiny/model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in storage
    weights.write_bytes(bytes(data))
    cache = StoreCache(store, tmp_path / "cache")

    with pytest.raises(CorruptModelError, match=r"refusing to load models/base/tiny: .*corrupt"):
        await cache.fetch(stored.key, stored.sha256)
    assert list((tmp_path / "cache").iterdir()) == []


async def test_a_wrong_expected_hash_or_a_missing_folder_is_refused(store, tmp_path, tiny_model_dir):
    stored = store.put_folder("models/base/tiny", tiny_model_dir)
    cache = StoreCache(store, tmp_path / "cache")
    with pytest.raises(CorruptModelError, match="was expected"):
        await cache.fetch(stored.key, "0" * 64)
    with pytest.raises(ModelLoadError, match="cannot fetch models/base/nope"):
        await cache.fetch("models/base/nope", "1" * 64)
