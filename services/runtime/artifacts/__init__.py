"""Artifact storage: one port (`ArtifactStore`), a local-folder adapter and an S3 adapter (minio SDK)."""

from services.runtime.artifacts.port import (
    ArtifactError,
    ArtifactNotFoundError,
    ArtifactStore,
    CorruptArtifactError,
    StoredObject,
)
from services.runtime.artifacts.settings import ArtifactSettings, open_artifact_store

__all__ = [
    "ArtifactError",
    "ArtifactNotFoundError",
    "ArtifactSettings",
    "ArtifactStore",
    "CorruptArtifactError",
    "StoredObject",
    "open_artifact_store",
]
