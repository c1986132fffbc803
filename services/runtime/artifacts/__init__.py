"""Artifact storage: one port (`ArtifactStore`), a local-folder adapter and an S3 adapter (minio SDK)."""

from services.runtime.artifacts.port import ArtifactError, ArtifactStore, CorruptArtifactError, StoredObject

__all__ = ["ArtifactError", "ArtifactStore", "CorruptArtifactError", "StoredObject"]
