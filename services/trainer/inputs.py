"""Where a job's inputs come from: registered base models and datasets in the artifact store,
fetched once into a local cache keyed by content hash (verified on download).

Used by job intake (tokenizer and rows for the checks) and by workers (everything for training).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from contracts import Actor
from contracts.events.datasets import FileFormat
from services.runtime import access
from services.runtime.artifacts import ArtifactError, ArtifactStore, layout
from services.runtime.event_store import AggregateNotFoundError, ServiceApplication
from services.trainer.dataset_files import load_dataset_file
from services.trainer.dataset_formats import NormalizedRows
from services.trainer.domain import BaseModel, Dataset, base_model_id_for
from services.trainer.errors import InvalidJobConfigError, Problem, StorageError
from services.trainer.model_files import WEIGHT_SUFFIXES


def dataset_key(dataset_id: str, file_format: FileFormat) -> str:
    """Key of a dataset's raw file (or folder, for a save_to_disk dataset)."""
    return layout.raw_dataset(dataset_id, "data" if file_format == "hf_disk" else f"data.{file_format}")


class ArtifactCache:
    """Local copies of stored artifacts, named by their sha256 so a copy is never stale."""

    def __init__(self, store: ArtifactStore, root: Path) -> None:
        self.store, self.root = store, root

    def folder(self, key: str, sha256: str, tokenizer_only: bool = False) -> Path:
        target = self.root / f"{sha256[:24]}{'-tokenizer' if tokenizer_only else ''}"
        if target.is_dir():
            return target
        partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            if tokenizer_only:  # the intake checks need the tokenizer, not gigabytes of weights
                for k in self.store.list_keys(key):
                    if not k.endswith(WEIGHT_SUFFIXES):
                        self.store.get_file(k, partial / k[len(key) + 1 :])
            else:
                self.store.get_folder(key, partial, expected_sha256=sha256)
        except ArtifactError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise StorageError(f"cannot fetch {key} from the artifact store: {exc}") from exc
        return _publish(partial, target)

    def file(self, key: str, sha256: str, name: str) -> Path:
        target = self.root / sha256[:24] / name
        if target.is_file():
            return target
        try:
            self.store.get_file(key, target.with_name(f".{name}.partial-{os.getpid()}"), expected_sha256=sha256)
        except ArtifactError as exc:
            raise StorageError(f"cannot fetch {key} from the artifact store: {exc}") from exc
        os.replace(target.with_name(f".{name}.partial-{os.getpid()}"), target)
        return target


def _publish(partial: Path, target: Path) -> Path:
    try:
        partial.rename(target)
    except OSError:  # another process cached it first
        shutil.rmtree(partial, ignore_errors=True)
    return target


def find_base_model(app: ServiceApplication, name: str) -> BaseModel | None:
    try:
        return app.load(base_model_id_for(name), BaseModel)
    except AggregateNotFoundError:
        return None


def base_model_dir(app: ServiceApplication, cache: ArtifactCache, name: str, tokenizer_only: bool = False) -> Path:
    """Local folder of a registered base model, or of a local Hugging Face folder given by path."""
    registered = find_base_model(app, name)
    if registered is not None:
        event = registered.registered
        return cache.folder(layout.base_model(event.name), event.sha256, tokenizer_only)
    if (Path(name) / "config.json").is_file():
        return Path(name).resolve()
    hint = "register it with `greentune models register` or give a local Hugging Face folder"
    raise InvalidJobConfigError("unknown base model", [Problem(f"no base model {name!r}: {hint}", field="base_model")])


def load_dataset(app: ServiceApplication, dataset_id: str, actor: Actor | None = None) -> Dataset:
    """The dataset, if `actor` (None: the trainer itself) may see it; another tenant's is unknown."""
    problem = Problem(f"no dataset {dataset_id!r}: register it with `greentune datasets register`", field="dataset_id")
    try:
        dataset = app.load(uuid.UUID(dataset_id), Dataset)
    except (ValueError, AggregateNotFoundError):
        raise InvalidJobConfigError("unknown dataset", [problem]) from None
    if actor is not None and not access.sees(actor, dataset.registered.owner):
        raise InvalidJobConfigError("unknown dataset", [problem])
    return dataset


def dataset_rows(cache: ArtifactCache, dataset: Dataset) -> NormalizedRows:
    """The registered dataset's rows, read by the same code that validated them at registration."""
    event = dataset.registered
    key = dataset_key(str(dataset.id), event.file_format)
    if event.file_format == "hf_disk":
        path = cache.folder(key, event.sha256)
    else:
        path = cache.file(key, event.sha256, f"data.{event.file_format}")
    _, rows = load_dataset_file(path, event.name)
    return rows
