"""Register and validate datasets and base models. Everything is checked before anything is stored
or recorded: a refused file leaves no artifact and no event.

Datasets are content-addressed (id = uuid5 of the sha256), so registering the same bytes twice
answers with the first registration.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from contracts.base import DomainEvent
from contracts.events.datasets import DatasetRegistered, DatasetValidated, FileFormat, RowError
from contracts.events.models import BaseModelRegistered
from services.runtime import access
from services.runtime.aggregate import Causation
from services.runtime.artifacts import ArtifactError, StoredObject, layout
from services.runtime.artifacts.hashing import file_sha256, folder_manifest, manifest_sha256
from services.runtime.event_store import AggregateNotFoundError
from services.trainer.commands import RegisterBaseModel, RegisterDataset, ValidateDataset
from services.trainer.context import TrainerContext
from services.trainer.dataset_files import good_rows, scan_dataset_file
from services.trainer.dataset_formats import NormalizedRows
from services.trainer.domain import BaseModel, Dataset, base_model_id_for, dataset_id_for
from services.trainer.errors import DatasetFormatError, InvalidBaseModelError, InvalidInputError, Problem, StorageError
from services.trainer.inputs import base_model_dir, dataset_key, dataset_rows, find_base_model, load_dataset
from services.trainer.model_files import read_model_shape
from services.trainer.ports import TokenReport
from services.trainer.replies import BaseModelRegistration, DatasetRegistration, DatasetRevalidation, DatasetValidation

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def register_dataset(ctx: TrainerContext, cmd: RegisterDataset, cause: Causation) -> DatasetRegistration:
    with tempfile.TemporaryDirectory(prefix="greentune-upload-") as scratch:
        path = _source_path(ctx, cmd, Path(scratch))
        name = cmd.display_name or path.name
        fmt, rows = scan_dataset_file(path, name)  # the rows are read again, one at a time, for their tokens
        if rows.problems:
            raise DatasetFormatError(f"{path.name} was not registered", rows.problems)
        report = _token_report(ctx, cmd.base_model, rows, good_rows(path, fmt, name), cmd.max_seq_length)
        if report and report.refused:
            problems = [Problem(p.message, path.name, p.line, p.field) for p in report.refused]
            raise DatasetFormatError(f"{path.name} was not registered: {cmd.base_model}'s chat template", problems)
        sha = manifest_sha256((r, s) for r, s, _ in folder_manifest(path)) if path.is_dir() else file_sha256(path)
        dataset_id = dataset_id_for(sha, access.owner_of(cmd.actor))
        try:
            return _summary(ctx.app.load(dataset_id, Dataset), already=True)
        except AggregateNotFoundError:
            pass
        stored = _store(ctx, str(dataset_id), fmt, path)
    registered = DatasetRegistered(
        name=cmd.display_name or path.name,
        uri=stored.uri,
        sha256=stored.sha256,
        size_bytes=stored.size_bytes,
        file_format=fmt,
        owner=access.owner_of(cmd.actor),
    )
    dataset = Dataset.start(dataset_id, registered, cause)
    dataset.record(_validated(rows, report, cmd.base_model), cause)
    ctx.app.save_aggregates(dataset)
    return _summary(dataset, already=False)


def validate_dataset(
    ctx: TrainerContext, cmd: ValidateDataset, cause: Causation
) -> DatasetValidation | DatasetRevalidation:
    if cmd.path is not None:  # a dry run: nothing is stored or recorded
        path = Path(cmd.path)
        fmt, rows = scan_dataset_file(path)
        good = good_rows(path, fmt)
        report = _token_report(ctx, cmd.base_model, rows, good, cmd.max_seq_length) if not rows.problems else None
        return DatasetValidation.model_validate(_fields(_validated(rows, report, cmd.base_model)))
    dataset = load_dataset(ctx.app, cmd.dataset_id or "", cmd.actor)
    rows = dataset_rows(ctx.cache, dataset)
    kept = zip(rows.rows, rows.lines, strict=True)
    validated = _validated(rows, _token_report(ctx, cmd.base_model, rows, kept, cmd.max_seq_length), cmd.base_model)
    dataset.record(validated, cause)
    ctx.app.save_aggregates(dataset)
    return DatasetRevalidation.model_validate({"dataset_id": str(dataset.id), **_fields(validated)})


def register_base_model(ctx: TrainerContext, cmd: RegisterBaseModel, cause: Causation) -> BaseModelRegistration:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", cmd.model_name):
        problem = Problem("use letters, digits, '.', '_' or '-' (at most 100)", field="model_name")
        raise InvalidInputError("invalid base model name", [problem])
    existing = find_base_model(ctx.app, cmd.model_name)
    with tempfile.TemporaryDirectory(prefix="greentune-base-") as scratch:
        folder = _base_model_source(ctx, cmd.source, Path(scratch))
        shape = read_model_shape(folder)
        sha = manifest_sha256((r, s) for r, s, _ in folder_manifest(folder))
        if existing is not None:
            if existing.registered.sha256 != sha:
                hint = "names are immutable: register the new weights under another name"
                raise InvalidInputError(
                    "name taken", [Problem(f"{cmd.model_name} holds other weights; {hint}", field="model_name")]
                )
            return BaseModelRegistration.model_validate(_fields(existing.registered) | {"already_registered": True})
        stored = _put_folder(ctx, layout.base_model(cmd.model_name), folder)
    event = BaseModelRegistered(
        name=cmd.model_name, uri=stored.uri, sha256=stored.sha256, size_bytes=stored.size_bytes,
        source=cmd.source, architecture=shape.architecture, parameters=shape.parameters,
    )  # fmt: skip
    model = BaseModel.start(base_model_id_for(cmd.model_name), event, cause)
    ctx.app.save_aggregates(model)
    return BaseModelRegistration.model_validate(_fields(event) | {"already_registered": False})


def _source_path(ctx: TrainerContext, cmd: RegisterDataset, scratch: Path) -> Path:
    if cmd.path is not None:
        return Path(cmd.path)
    target = scratch / (SAFE_NAME.sub("_", Path(cmd.filename or "upload").name) or "upload")
    try:
        return ctx.store.get_file(ctx.store.key_of(cmd.upload_uri or ""), target, expected_sha256=cmd.upload_sha256)
    except ArtifactError as exc:
        raise InvalidInputError("upload not found", [Problem(str(exc), field="upload_uri")]) from exc


def _base_model_source(ctx: TrainerContext, source: str, scratch: Path) -> Path:
    if not source.startswith("s3://"):
        return Path(source)
    try:
        return ctx.store.get_folder(ctx.store.key_of(source), scratch / "model")
    except ArtifactError as exc:
        raise InvalidBaseModelError(
            "no model at that URI in the artifact store", [Problem(str(exc), field="source")]
        ) from exc


def _token_report(
    ctx: TrainerContext,
    base_model: str | None,
    rows: NormalizedRows,
    good: Iterable[tuple[dict[str, Any], int]],
    limit: int,
) -> TokenReport | None:
    """Token statistics of the `good` rows under `base_model`'s tokenizer (none without a model or rows)."""
    if base_model is None or not rows.good:
        return None
    model_dir = base_model_dir(ctx.app, ctx.cache, base_model, tokenizer_only=True)
    return ctx.tokens.measure(model_dir, good, limit)


def _validated(rows: NormalizedRows, report: TokenReport | None, base_model: str | None) -> DatasetValidated:
    problems = [*rows.problems, *(report.refused if report else ())]
    errors = tuple(RowError(line=p.line or 0, field=p.field, message=p.message) for p in problems)
    return DatasetValidated(
        valid=not errors,
        data_format=rows.data_format,
        rows=rows.read,
        errors=errors,
        tokenizer=base_model if report else None,
        token_stats=report.stats if report else None,
        sample=report.sample if report else None,
    )


def _store(ctx: TrainerContext, dataset_id: str, fmt: FileFormat, path: Path) -> StoredObject:
    key = dataset_key(dataset_id, fmt)
    return _put_folder(ctx, key, path) if path.is_dir() else _put_file(ctx, key, path)


def _put_file(ctx: TrainerContext, key: str, path: Path) -> StoredObject:
    try:
        return ctx.store.put_file(key, path)
    except (ArtifactError, OSError) as exc:
        raise StorageError(f"cannot store {path.name}: {exc}") from exc


def _put_folder(ctx: TrainerContext, key: str, path: Path) -> StoredObject:
    try:
        return ctx.store.put_folder(key, path)
    except (ArtifactError, OSError) as exc:
        raise StorageError(f"cannot store {path.name}: {exc}") from exc


def _summary(dataset: Dataset, already: bool) -> DatasetRegistration:
    fields = {**_fields(dataset.registered), **_fields(dataset.validations[-1])}
    return DatasetRegistration.model_validate({"dataset_id": str(dataset.id), "already_registered": already, **fields})


def _fields(event: DomainEvent) -> dict[str, Any]:
    """An event's own fields, for a reply that shows them."""
    return event.model_dump(mode="json", exclude={"type", "version"})
