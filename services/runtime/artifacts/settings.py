"""Which artifact store a process uses (env prefix GREENTUNE_ARTIFACTS_), and opening it.

`local` (default): a folder, `<GREENTUNE_DATA_DIR>/artifacts` unless `GREENTUNE_ARTIFACTS_ROOT` is set.
`s3`: a bucket on an S3 API (MinIO, AWS) through the minio SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.artifacts.port import ArtifactStore


class ArtifactSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENTUNE_ARTIFACTS_", extra="ignore")

    backend: Literal["local", "s3"] = Field("local", description="Where artifacts live.")
    root: Path | None = Field(None, description="Folder of the local store (default <data dir>/artifacts).")
    s3_endpoint: str | None = Field(None, description="host:port of the S3 API, e.g. minio:9000.")
    s3_public_endpoint: str | None = Field(None, description="host:port that presigned URLs should name.")
    s3_access_key: str | None = Field(None, description="S3 access key id.")
    s3_secret_key: SecretStr | None = Field(None, description="S3 secret key.")
    s3_bucket: str = Field("greentune", min_length=3, description="Bucket holding every artifact.")
    s3_secure: bool = Field(True, description="HTTPS to the S3 API.")
    s3_region: str = Field("us-east-1", description="Bucket region (given, so presigning needs no lookup).")
    s3_part_size_mib: int = Field(16, ge=5, le=5120, description="Multipart part size, MiB (S3 minimum 5).")

    @model_validator(mode="after")
    def _s3_is_complete(self) -> ArtifactSettings:
        if self.backend == "s3":
            missing = [n for n in ("s3_endpoint", "s3_access_key", "s3_secret_key") if getattr(self, n) is None]
            if missing:
                names = ", ".join(f"GREENTUNE_ARTIFACTS_{n.upper()}" for n in missing)
                raise ValueError(f"GREENTUNE_ARTIFACTS_BACKEND=s3 needs {names}")
        return self


def open_artifact_store(settings: ArtifactSettings, data_dir: Path) -> ArtifactStore:
    """The configured store; the local one defaults to `data_dir/artifacts`."""
    if settings.backend == "local":
        from services.runtime.artifacts.local import LocalArtifactStore

        return LocalArtifactStore(settings.root or data_dir / "artifacts")
    from services.runtime.artifacts.s3 import S3ArtifactStore

    assert settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key  # checked by the validator
    return S3ArtifactStore(
        settings.s3_endpoint,
        settings.s3_access_key,
        settings.s3_secret_key.get_secret_value(),
        settings.s3_bucket,
        secure=settings.s3_secure,
        region=settings.s3_region,
        part_size=settings.s3_part_size_mib << 20,
        public_endpoint=settings.s3_public_endpoint,
    )
