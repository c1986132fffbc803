"""The artifact store port. Keys are '/'-separated paths such as `models/finetuned/job-1/lora`.

A folder is stored as its files under a prefix; its identity is the sha256 of its manifest
(see hashing.py). Downloads verify content against the expected hash when one is given, so a
corrupted artifact is refused instead of served.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol


class ArtifactError(Exception):
    """The artifact store failed (missing object, unreachable server, ...)."""


class CorruptArtifactError(ArtifactError):
    """Stored bytes no longer match the hash recorded when they were written."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    uri: str
    size_bytes: int
    sha256: str  # of the file, or of the folder's manifest


class ArtifactStore(Protocol):
    def uri(self, key: str) -> str: ...

    def put_file(self, key: str, source: Path) -> StoredObject: ...

    def put_folder(self, prefix: str, source: Path) -> StoredObject: ...

    def get_file(self, key: str, destination: Path, expected_sha256: str | None = None) -> Path: ...

    def get_folder(self, prefix: str, destination: Path, expected_sha256: str | None = None) -> Path: ...

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def download_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str: ...
