"""Content hashes: of a file, and of a folder (a hash over its sorted file manifest)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

CHUNK = 1 << 20  # bytes read at a time


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_sha256(entries: Iterable[tuple[str, str]]) -> str:
    """Hash of a folder from (relative path, file sha256) pairs, independent of listing order."""
    digest = hashlib.sha256()
    for relative, sha in sorted(entries):
        digest.update(f"{relative}\0{sha}\n".encode())
    return digest.hexdigest()


def folder_manifest(folder: Path) -> list[tuple[str, str, int]]:
    """(relative path, sha256, size) of every file under `folder`, sorted."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return [(p.relative_to(folder).as_posix(), file_sha256(p), p.stat().st_size) for p in files]
