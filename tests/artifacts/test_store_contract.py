"""The artifact-store contract: every test runs against the local folder and a real S3 API server."""

from __future__ import annotations

import hashlib
import os
import threading
import urllib.request
from pathlib import Path

import pytest

from services.runtime.artifacts import ArtifactError, ArtifactNotFoundError, CorruptArtifactError
from services.runtime.artifacts.hashing import folder_manifest, manifest_sha256
from tests.artifacts.conftest import StoreUnderTest


def _file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _folder(root: Path) -> Path:
    _file(root / "config.json", b'{"model_type": "llama"}')
    _file(root / "model.safetensors", os.urandom(300_000))
    _file(root / "sub" / "tokenizer.json", b'{"version": "1.0"}')
    return root


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_file_round_trips_with_its_size_and_sha256(sut: StoreUnderTest, tmp_path: Path) -> None:
    data = os.urandom(70_000)
    stored = sut.store.put_file("logs/job-1/training.log", _file(tmp_path / "in.log", data))

    assert (stored.key, stored.size_bytes, stored.sha256) == (
        "logs/job-1/training.log",
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    assert stored.uri == sut.store.uri("logs/job-1/training.log")
    out = sut.store.get_file("logs/job-1/training.log", tmp_path / "out" / "t.log", expected_sha256=stored.sha256)
    assert out.read_bytes() == data
    assert sut.store.exists("logs/job-1/training.log")
    assert sut.store.key_of(stored.uri) == "logs/job-1/training.log"


def test_a_folder_round_trips_under_its_manifest_hash(sut: StoreUnderTest, tmp_path: Path) -> None:
    source = _folder(tmp_path / "lora")
    stored = sut.store.put_folder("models/finetuned/job-7/lora", source)

    expected = manifest_sha256((rel, sha) for rel, sha, _ in folder_manifest(source))
    assert stored.sha256 == expected
    assert stored.size_bytes == sum(size for _, _, size in folder_manifest(source))
    assert sut.store.list_keys("models/finetuned/job-7/lora") == [
        "models/finetuned/job-7/lora/config.json",
        "models/finetuned/job-7/lora/model.safetensors",
        "models/finetuned/job-7/lora/sub/tokenizer.json",
    ]
    out = sut.store.get_folder("models/finetuned/job-7/lora", tmp_path / "copy", expected_sha256=stored.sha256)
    assert folder_manifest(out) == folder_manifest(source)
    assert _leftovers(tmp_path) == ["copy", "lora"]  # no staging folder left behind


def test_a_large_file_goes_up_in_parts_and_comes_back_identical(sut: StoreUnderTest, tmp_path: Path) -> None:
    data = os.urandom(12 << 20)  # above the 5 MiB part size the S3 store is given here
    stored = sut.store.put_file("models/base/big/model.safetensors", _file(tmp_path / "big.bin", data))

    out = sut.store.get_file("models/base/big/model.safetensors", tmp_path / "back.bin", stored.sha256)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_bytes_changed_in_storage_are_caught_on_load_and_nothing_is_left(sut: StoreUnderTest, tmp_path: Path) -> None:
    stored = sut.store.put_file("models/finetuned/job-1/w.bin", _file(tmp_path / "w.bin", b"A" * 4096))
    sut.tamper("models/finetuned/job-1/w.bin", b"A" * 4095 + b"B")

    destination = tmp_path / "dl" / "w.bin"
    with pytest.raises(CorruptArtifactError) as caught:
        sut.store.get_file("models/finetuned/job-1/w.bin", destination)  # caught even without an expected hash
    assert stored.uri in str(caught.value)
    assert stored.sha256 in str(caught.value)
    assert not destination.exists()


def test_one_corrupted_file_fails_the_whole_folder_download(sut: StoreUnderTest, tmp_path: Path) -> None:
    stored = sut.store.put_folder("models/finetuned/job-2/merged", _folder(tmp_path / "merged"))
    sut.tamper("models/finetuned/job-2/merged/sub/tokenizer.json", b'{"version": "2.0"}')

    with pytest.raises(CorruptArtifactError) as caught:
        sut.store.get_folder("models/finetuned/job-2/merged", tmp_path / "out" / "merged", stored.sha256)
    assert sut.store.uri("models/finetuned/job-2/merged/sub/tokenizer.json") in str(caught.value)
    assert _leftovers(tmp_path / "out") == []


def test_a_hash_other_than_the_expected_one_is_refused(sut: StoreUnderTest, tmp_path: Path) -> None:
    sut.store.put_file("datasets/raw/d1/facts.jsonl", _file(tmp_path / "f.jsonl", b'{"a": 1}\n'))
    wrong = "0" * 64

    with pytest.raises(CorruptArtifactError, match=wrong):
        sut.store.get_file("datasets/raw/d1/facts.jsonl", tmp_path / "f2.jsonl", expected_sha256=wrong)
    assert not (tmp_path / "f2.jsonl").exists()
    sut.store.put_folder("datasets/processed/d1", _folder(tmp_path / "p"))
    with pytest.raises(CorruptArtifactError, match="manifest"):
        sut.store.get_folder("datasets/processed/d1", tmp_path / "p2", expected_sha256=wrong)
    assert not (tmp_path / "p2").exists()


def test_missing_keys_give_clear_errors_naming_the_uri(sut: StoreUnderTest, tmp_path: Path) -> None:
    uri = sut.store.uri("models/finetuned/job-404/lora")
    for attempt in (
        lambda: sut.store.get_file("models/finetuned/job-404/lora", tmp_path / "x"),
        lambda: sut.store.get_folder("models/finetuned/job-404/lora", tmp_path / "y"),
        lambda: sut.store.download_url("models/finetuned/job-404/lora"),
    ):
        with pytest.raises(ArtifactNotFoundError, match=uri.replace("/", ".")):
            attempt()
    assert not sut.store.exists("models/finetuned/job-404/lora")
    assert sut.store.list_keys("models/finetuned/job-404") == []
    assert sut.store.delete_prefix("models/finetuned/job-404") == 0
    assert _leftovers(tmp_path) == []


def test_a_missing_source_is_refused_and_stores_nothing(sut: StoreUnderTest, tmp_path: Path) -> None:
    with pytest.raises((ArtifactError, OSError)):
        sut.store.put_file("logs/job-1/training.log", tmp_path / "nope.log")
    with pytest.raises(ArtifactError, match="nope"):
        sut.store.put_folder("models/base/x", tmp_path / "nope")
    assert not sut.store.exists("logs/job-1/training.log")


def test_prefixes_match_whole_path_segments_only(sut: StoreUnderTest, tmp_path: Path) -> None:
    source = _file(tmp_path / "f", b"x")
    for key in ("checkpoints/job-1/checkpoint-10/a", "checkpoints/job-1/checkpoint-100/a", "checkpoints/job-10/a"):
        sut.store.put_file(key, source)

    assert sut.store.list_keys("checkpoints/job-1/checkpoint-10") == ["checkpoints/job-1/checkpoint-10/a"]
    assert sut.store.delete_prefix("checkpoints/job-1") == 2
    assert sut.store.list_keys("checkpoints") == ["checkpoints/job-10/a"]
    assert not sut.store.exists("checkpoints/job-1/checkpoint-100/a")


def test_download_urls_serve_the_stored_bytes(sut: StoreUnderTest, tmp_path: Path) -> None:
    sut.store.put_file("models/finetuned/job-3/README.md", _file(tmp_path / "card.md", b"# card\n"))

    url = sut.store.download_url("models/finetuned/job-3/README.md")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"# card\n"


def test_uris_of_another_store_are_refused(sut: StoreUnderTest) -> None:
    for foreign in ("s3://another-bucket/models/x", "file:///etc/passwd", "https://example.org/x"):
        with pytest.raises(ArtifactError, match="not"):
            sut.store.key_of(foreign)


def test_readers_never_see_a_partial_object_while_it_uploads(sut: StoreUnderTest, tmp_path: Path) -> None:
    data = os.urandom(12 << 20)
    source = _file(tmp_path / "big.bin", data)
    want = hashlib.sha256(data).hexdigest()
    seen: list[str] = []
    upload = threading.Thread(target=sut.store.put_file, args=("models/base/big/w.bin", source))
    upload.start()
    while upload.is_alive() or not seen:
        try:
            out = sut.store.get_file("models/base/big/w.bin", tmp_path / "read.bin")
        except ArtifactNotFoundError:
            continue
        seen.append(hashlib.sha256(out.read_bytes()).hexdigest())
    upload.join()
    assert seen and set(seen) == {want}
