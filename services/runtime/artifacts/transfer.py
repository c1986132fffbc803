"""Folder put/get and download checks shared by every artifact-store adapter.

An adapter provides `uri`, `put_file`, `list_keys` and `_download` (copy one object's bytes to a
path and return the sha256 recorded at put time); this mixin builds verified `get_file`, folder
uploads and folder downloads on them. A folder download lands in a hidden sibling folder and is
moved into place only after every file and the manifest checked out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from services.runtime.artifacts.hashing import file_sha256, folder_manifest, manifest_sha256
from services.runtime.artifacts.port import ArtifactError, ArtifactNotFoundError, CorruptArtifactError, StoredObject


def check_download(uri: str, path: Path, recorded: str | None, expected: str | None) -> str:
    """sha256 of the downloaded `path`; deletes it and raises CorruptArtifactError on a mismatch."""
    actual = file_sha256(path)
    for source, wanted in (("recorded at upload", recorded), ("expected", expected)):
        if wanted is not None and actual != wanted:
            path.unlink(missing_ok=True)
            raise CorruptArtifactError(
                f"{uri} is corrupt: its bytes hash to sha256 {actual}, but {wanted} was {source}; "
                "the download was discarded — restore the object from a good copy or re-export it"
            )
    return actual


class FolderTransfer:
    """Mixin: needs `uri`, `put_file`, `list_keys` and `_download` from the adapter."""

    def uri(self, key: str) -> str:
        raise NotImplementedError

    def put_file(self, key: str, source: Path) -> StoredObject:
        raise NotImplementedError

    def list_keys(self, prefix: str) -> list[str]:
        raise NotImplementedError

    def _download(self, key: str, destination: Path) -> str | None:
        """Copy the object to `destination`; return its recorded sha256 (None if none was recorded)."""
        raise NotImplementedError

    def get_file(self, key: str, destination: Path, expected_sha256: str | None = None) -> Path:
        destination.parent.mkdir(parents=True, exist_ok=True)
        recorded = self._download(key, destination)
        check_download(self.uri(key), destination, recorded, expected_sha256)
        return destination

    def put_folder(self, prefix: str, source: Path) -> StoredObject:
        manifest = folder_manifest(source) if source.is_dir() else []
        if not manifest:
            raise ArtifactError(f"{source} is not a folder with files to store")
        for relative, _, _ in manifest:
            self.put_file(f"{prefix}/{relative}", source / relative)
        entries = [(relative, sha) for relative, sha, _ in manifest]
        return StoredObject(prefix, self.uri(prefix), sum(size for _, _, size in manifest), manifest_sha256(entries))

    def get_folder(self, prefix: str, destination: Path, expected_sha256: str | None = None) -> Path:
        keys = [k for k in self.list_keys(prefix) if k != prefix]
        if not keys:
            raise ArtifactNotFoundError(f"no artifact folder at {self.uri(prefix)}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial"))
        try:
            entries = [(k[len(prefix) + 1 :], self._verified(k, staging / k[len(prefix) + 1 :])) for k in keys]
            actual = manifest_sha256(entries)
            if expected_sha256 is not None and actual != expected_sha256:
                raise CorruptArtifactError(
                    f"{self.uri(prefix)} is corrupt or incomplete: its files hash to manifest sha256 {actual}, "
                    f"but {expected_sha256} was expected; the download was discarded"
                )
            if destination.exists():
                shutil.rmtree(destination)
            os.replace(staging, destination)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return destination

    def _verified(self, key: str, destination: Path) -> str:
        destination.parent.mkdir(parents=True, exist_ok=True)
        return check_download(self.uri(key), destination, self._download(key, destination), None)
