"""Artifact store on a local folder (the embedded default).

Writes are atomic and durable: a file is written to a unique temporary name beside its key,
fsynced, then renamed, so a key shows nothing until it is complete. Each object's sha256 and size
are recorded at put time under `<root>/.greentune-meta/` (as S3 keeps them in object metadata) and
checked on every read.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from services.runtime.artifacts.hashing import CHUNK
from services.runtime.artifacts.port import ArtifactError, ArtifactNotFoundError, StoredObject
from services.runtime.artifacts.transfer import FolderTransfer

META_DIR = ".greentune-meta"
PARTIAL_SUFFIX = ".partial"


class LocalArtifactStore(FolderTransfer):
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents and path != self.root:
            raise ArtifactError(f"key {key!r} escapes the artifact root {self.root}")
        if path.relative_to(self.root).parts[:1] == (META_DIR,):
            raise ArtifactError(f"key {key!r} is inside the store's metadata folder {META_DIR}/")
        return path

    def _meta_path(self, key: str) -> Path:
        return self.root / META_DIR / f"{self._path(key).relative_to(self.root).as_posix()}.json"

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def key_of(self, uri: str) -> str:
        parsed = urlparse(uri)
        path = Path(unquote(parsed.path)).resolve()
        if parsed.scheme != "file" or (self.root not in path.parents):
            raise ArtifactError(f"{uri} is not in the local artifact store at {self.root}")
        return path.relative_to(self.root).as_posix()

    def put_file(self, key: str, source: Path) -> StoredObject:
        target = self._path(key)
        with open(source, "rb") as reader:
            partial, sha, size = _stage(reader, target)
        try:
            # Hash first, then the object: a reader never finds the object without its hash.
            meta = self._meta_path(key)
            _commit(_stage(io.BytesIO(json.dumps({"sha256": sha, "size": size}).encode()), meta)[0], meta)
            _commit(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return StoredObject(key, self.uri(key), size, sha)

    def _download(self, key: str, destination: Path) -> str | None:
        source = self._path(key)
        if not source.is_file():
            raise ArtifactNotFoundError(f"no artifact at {self.uri(key)}")
        shutil.copyfile(source, destination)
        meta = self._meta_path(key)
        return str(json.loads(meta.read_bytes())["sha256"]) if meta.is_file() else None  # None: stored by hand

    def exists(self, key: str) -> bool:
        return bool(self.list_keys(key))

    def list_keys(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())
        return sorted(k for k in keys if not k.startswith(f"{META_DIR}/") and not k.endswith(PARTIAL_SUFFIX))

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        for key in keys:
            self._path(key).unlink(missing_ok=True)
            self._meta_path(key).unlink(missing_ok=True)
        target = self._path(prefix)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        return len(keys)

    def download_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        if not self._path(key).is_file():
            raise ArtifactNotFoundError(f"no artifact at {self.uri(key)}")
        return self.uri(key)  # a local folder has no expiring links: the file URI is the link


def _stage(reader: BinaryIO, target: Path) -> tuple[Path, str, int]:
    """Write `reader` to a hidden file beside `target`, fsynced; returns (that file, sha256, size)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as writer:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                size += writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())  # the bytes are on disk before the key shows them
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name), digest.hexdigest(), size


def _commit(partial: Path, target: Path) -> None:
    """Rename a staged file onto its key (atomic), and make the rename durable."""
    os.replace(partial, target)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
