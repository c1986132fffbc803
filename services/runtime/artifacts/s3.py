"""Artifact store on an S3 API (MinIO, AWS, moto in tests) through the `minio` SDK.

Each object carries its sha256 as user metadata (`x-amz-meta-sha256`), written with the object in
one PUT (multipart above `part_size`), so both appear together or not at all; every download is
checked against it. Presigned GET URLs let a browser or an inference node fetch without keys.
minio and urllib3 errors are translated here into the port's errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from services.runtime.artifacts.hashing import CHUNK, file_sha256
from services.runtime.artifacts.port import ArtifactError, ArtifactNotFoundError, StoredObject
from services.runtime.artifacts.transfer import FolderTransfer

T = TypeVar("T")
SHA_HEADER = "x-amz-meta-sha256"
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchBucket", "NotFound"})


class _HashingReader:
    """Reads a file for the upload and hashes what was actually sent."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.digest = handle, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


class S3ArtifactStore(FolderTransfer):
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = True,
        region: str = "us-east-1",
        part_size: int = 16 << 20,
        public_endpoint: str | None = None,
    ) -> None:
        from minio import Minio

        self.endpoint, self.bucket = endpoint, bucket
        self.part_size = part_size  # bytes per multipart part (S3 minimum 5 MiB)
        # The region is given, so presigning makes no network call; the public endpoint (if any)
        # is what browsers and other hosts reach, the private one what this process reaches.
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region)
        self.presign_client = Minio(
            public_endpoint or endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region
        )
        self._call(f"create bucket {bucket}", self._ensure_bucket)

    def _ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        from minio.error import S3Error

        try:
            return fn()
        except S3Error as exc:
            if exc.code in MISSING_CODES:
                raise ArtifactNotFoundError(f"{what}: nothing there ({exc.code})") from exc
            raise ArtifactError(f"{what}: S3 refused it: {exc.code} {exc.message}") from exc
        except (OSError, ValueError) as exc:  # urllib3 errors are OSErrors; bad names are ValueErrors
            raise ArtifactError(f"{what}: S3 at {self.endpoint} failed: {exc}") from exc

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def key_of(self, uri: str) -> str:
        prefix = f"s3://{self.bucket}/"
        if not uri.startswith(prefix) or len(uri) == len(prefix):
            raise ArtifactError(f"{uri} is not an object of the artifact bucket {self.bucket}")
        return uri[len(prefix) :]

    def put_file(self, key: str, source: Path) -> StoredObject:
        if not source.is_file():
            raise ArtifactError(f"cannot store {source} at {self.uri(key)}: not a readable file")
        sha, size = file_sha256(source), source.stat().st_size
        with open(source, "rb") as handle:
            reader = _HashingReader(handle)
            self._call(
                f"upload {self.uri(key)}",
                lambda: self.client.put_object(
                    self.bucket, key, cast(BinaryIO, reader), size, metadata={SHA_HEADER: sha}, part_size=self.part_size
                ),
            )
        if reader.digest.hexdigest() != sha:
            self._call(f"remove {self.uri(key)}", lambda: self.client.remove_object(self.bucket, key))
            raise ArtifactError(f"{source} changed while it was uploaded to {self.uri(key)}; nothing was stored")
        return StoredObject(key, self.uri(key), size, sha)

    def _download(self, key: str, destination: Path) -> str | None:
        with self._get(key) as response, open(destination, "wb") as out:
            for chunk in response.stream(CHUNK):
                out.write(chunk)
            recorded = response.headers.get(SHA_HEADER)
        return str(recorded) if recorded else None

    @contextmanager
    def _get(self, key: str) -> Iterator[Any]:
        response = self._call(f"download {self.uri(key)}", lambda: self.client.get_object(self.bucket, key))
        try:
            yield response
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        return bool(self.list_keys(key))

    def list_keys(self, prefix: str) -> list[str]:
        folder = prefix.rstrip("/") + "/" if prefix else ""
        objects = self._call(
            f"list {self.uri(prefix)}",
            lambda: list(self.client.list_objects(self.bucket, prefix=prefix.rstrip("/"), recursive=True)),
        )
        names = [o.object_name for o in objects]
        return sorted(n for n in names if n == prefix or n.startswith(folder))

    def delete_prefix(self, prefix: str) -> int:
        from minio.deleteobjects import DeleteObject

        keys = self.list_keys(prefix)
        errors = self._call(
            f"delete {self.uri(prefix)}",
            lambda: list(self.client.remove_objects(self.bucket, [DeleteObject(k) for k in keys])),
        )
        if errors:
            raise ArtifactError(f"delete {self.uri(prefix)}: {len(errors)} objects were not removed: {errors[0]}")
        return len(keys)

    def download_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        self._call(f"look up {self.uri(key)}", lambda: self.client.stat_object(self.bucket, key))
        url: str = self._call(
            f"presign {self.uri(key)}",
            lambda: self.presign_client.presigned_get_object(self.bucket, key, expires=expires),
        )
        return url
