"""Artifact store on a local folder (the embedded default). Writes are atomic: a file appears
under its key only once it is complete (written beside it, then renamed)."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

from services.runtime.artifacts.hashing import file_sha256, folder_manifest, manifest_sha256
from services.runtime.artifacts.port import ArtifactError, CorruptArtifactError, StoredObject


class LocalArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents and path != self.root:
            raise ArtifactError(f"key {key!r} escapes the artifact root")
        return path

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def put_file(self, key: str, source: Path) -> StoredObject:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(source, partial)
        os.replace(partial, target)
        return StoredObject(key, self.uri(key), target.stat().st_size, file_sha256(target))

    def put_folder(self, prefix: str, source: Path) -> StoredObject:
        manifest = folder_manifest(source)
        if not manifest:
            raise ArtifactError(f"{source} has no files to store")
        for relative, _, _ in manifest:
            self.put_file(f"{prefix}/{relative}", source / relative)
        entries = [(relative, sha) for relative, sha, _ in manifest]
        return StoredObject(prefix, self.uri(prefix), sum(size for _, _, size in manifest), manifest_sha256(entries))

    def get_file(self, key: str, destination: Path, expected_sha256: str | None = None) -> Path:
        source = self._path(key)
        if not source.is_file():
            raise ArtifactError(f"no artifact at {self.uri(key)}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        if expected_sha256 and (actual := file_sha256(destination)) != expected_sha256:
            destination.unlink()
            raise CorruptArtifactError(f"{self.uri(key)}: sha256 {actual} differs from the recorded {expected_sha256}")
        return destination

    def get_folder(self, prefix: str, destination: Path, expected_sha256: str | None = None) -> Path:
        keys = self.list_keys(prefix)
        if not keys:
            raise ArtifactError(f"no artifact folder at {self.uri(prefix)}")
        for key in keys:
            self.get_file(key, destination / key[len(prefix) + 1 :])
        if expected_sha256:
            actual = manifest_sha256((rel, sha) for rel, sha, _ in folder_manifest(destination))
            if actual != expected_sha256:
                shutil.rmtree(destination, ignore_errors=True)
                raise CorruptArtifactError(
                    f"{self.uri(prefix)}: content hash {actual} differs from the recorded {expected_sha256}"
                )
        return destination

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def list_keys(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        files = sorted(p for p in base.rglob("*") if p.is_file() and not p.name.endswith(".partial"))
        return [p.relative_to(self.root).as_posix() for p in files]

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        target = self._path(prefix)
        if target.is_dir():
            shutil.rmtree(target)
        elif target.is_file():
            target.unlink()
        return len(keys)

    def download_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        if not self._path(key).exists():
            raise ArtifactError(f"no artifact at {self.uri(key)}")
        return self.uri(key)  # a local folder has no expiring links: the file URI is the link
