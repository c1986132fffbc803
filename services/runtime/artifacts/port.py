"""The artifact store port. Keys are '/'-separated paths such as `models/finetuned/job-1/lora`.

A folder is stored as its files under a prefix; its identity is the sha256 of its manifest
(see hashing.py). Every file's sha256 is recorded when it is written and checked whenever it is
read, so bytes changed in storage are refused (CorruptArtifactError naming the URI), never served.
A key shows nothing until its object is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from services.runtime.problems import ServiceError


class ArtifactError(ServiceError):
    """The artifact store failed (missing object, unreachable server, bad key...)."""

    status = 502


class ArtifactNotFoundError(ArtifactError):
    """No object (or folder) under the key."""

    status = 404


class CorruptArtifactError(ArtifactError):
    """Stored bytes no longer match the hash recorded when they were written."""

    status = 409


@dataclass(frozen=True)
class StoredObject:
    key: str
    uri: str
    size_bytes: int
    sha256: str  # of the file, or of the folder's manifest


class ArtifactStore(Protocol):
    def uri(self, key: str) -> str:
        """The object's URI (`file:///...` or `s3://bucket/key`)."""
        ...

    def key_of(self, uri: str) -> str:
        """The key of a URI made by `uri()`; ArtifactError if it points outside this store."""
        ...

    def put_file(self, key: str, source: Path) -> StoredObject: ...

    def put_folder(self, prefix: str, source: Path) -> StoredObject: ...

    def get_file(self, key: str, destination: Path, expected_sha256: str | None = None) -> Path:
        """Copy the object to `destination` after checking its bytes against the recorded hash
        (and `expected_sha256` when given); on a mismatch nothing is left at `destination`."""
        ...

    def get_folder(self, prefix: str, destination: Path, expected_sha256: str | None = None) -> Path:
        """Same as get_file for every file under `prefix`; `expected_sha256` is the manifest hash."""
        ...

    def exists(self, key: str) -> bool:
        """True for an object at `key` or a folder with objects under `key/`."""
        ...

    def list_keys(self, prefix: str) -> list[str]:
        """`prefix` itself if it is an object, else every object under `prefix/`, sorted."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete the object or folder; returns how many objects were removed."""
        ...

    def download_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str: ...
