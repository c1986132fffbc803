"""Local copies of model and adapter folders from the artifact store, checked against their sha256.

A folder is cached under its manifest hash, so a name that moves to new weights gets a new copy
and an unchanged one is fetched once. A copy is downloaded beside its final place and renamed
only once verified: a half-written or corrupt folder is never served.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

from services.inference.domain import CorruptModelError, ModelLoadError
from services.runtime.artifacts import ArtifactError, ArtifactStore, CorruptArtifactError


class StoreCache:
    def __init__(self, store: ArtifactStore, cache_dir: Path) -> None:
        self.store = store
        self.cache_dir = Path(cache_dir)

    async def fetch(self, key: str, sha256: str) -> Path:
        target = self.cache_dir / sha256
        if target.is_dir():
            return target
        return await asyncio.to_thread(self._download, key, sha256, target)

    def _download(self, key: str, sha256: str, target: Path) -> Path:
        partial = self.cache_dir / f".{sha256}.{uuid.uuid4().hex}.partial"
        try:
            self.store.get_folder(key, partial, expected_sha256=sha256)
            partial.rename(target)
        except CorruptArtifactError as exc:
            raise CorruptModelError(f"refusing to load {key}: {exc}") from exc
        except ArtifactError as exc:
            raise ModelLoadError(f"cannot fetch {key} from the artifact store: {exc}") from exc
        except OSError:
            if not target.is_dir():  # not a concurrent fetch of the same folder winning the rename
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return target
