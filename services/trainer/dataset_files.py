"""Read a dataset file (JSONL, JSON, CSV, Parquet or a `datasets` folder saved with save_to_disk)
into raw rows with their line numbers. Parse errors become rows carrying the error, so one broken
line is reported with every other problem instead of stopping the read.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from contracts.events.datasets import FileFormat
from services.trainer.dataset_formats import NormalizedRows, RawRow, normalize, normalized
from services.trainer.errors import DatasetFormatError, Problem

EXTENSIONS: dict[str, FileFormat] = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
JSON_COLUMNS = ("messages", "conversations")  # CSV cells holding JSON lists
JSON_MAX_BYTES = 256 << 20  # a .json array must be parsed whole; larger files must be .jsonl
PARQUET_BATCH_ROWS = 1024


def file_format_of(path: Path) -> FileFormat:
    if path.is_dir():
        if (path / "dataset_info.json").is_file() or (path / "state.json").is_file():
            return "hf_disk"
        raise DatasetFormatError(
            "unknown dataset folder", [Problem("a folder must be saved with `datasets` save_to_disk", path.name, 0)]
        )
    if not path.is_file():
        raise DatasetFormatError("no such dataset file", [Problem("file not found", str(path), 0)])
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        hint = f"unknown file format {path.suffix or '(no extension)'!r}: use .jsonl, .json, .csv, .parquet"
        raise DatasetFormatError("unknown file format", [Problem(f"{hint} or a save_to_disk folder", path.name, 0)])
    return fmt


def read_rows(path: Path, fmt: FileFormat) -> Iterator[RawRow]:
    match fmt:
        case "jsonl":
            return _jsonl(path)
        case "json":
            return _json(path)
        case "csv":
            return _csv(path)
        case "parquet":
            return _numbered(_parquet(path))
        case _:
            return _numbered(_hf_disk(path))


def load_dataset_file(path: Path, display_name: str | None = None) -> tuple[FileFormat, NormalizedRows]:
    """Format, rows and problems of a dataset file or folder."""
    fmt = file_format_of(path)
    return fmt, normalize(read_rows(path, fmt), display_name or path.name)


def scan_dataset_file(path: Path, display_name: str | None = None) -> tuple[FileFormat, NormalizedRows]:
    """Format, row counts and problems of a dataset file or folder, read once without keeping its rows
    (memory bounded by one row, one Parquet record batch, or a .json file, refused above JSON_MAX_BYTES)."""
    fmt = file_format_of(path)
    out = NormalizedRows(data_format=None)
    for _ in normalized(read_rows(path, fmt), display_name or path.name, out):
        pass
    return fmt, out


def good_rows(path: Path, fmt: FileFormat, display_name: str | None = None) -> Iterator[tuple[dict[str, Any], int]]:
    """The file's good rows with their lines, read again one at a time (after scan_dataset_file)."""
    return normalized(read_rows(path, fmt), display_name or path.name, NormalizedRows(data_format=None))


def _jsonl(path: Path) -> Iterator[RawRow]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield RawRow(number, json.loads(text))
            except json.JSONDecodeError as exc:
                yield RawRow(number, None, f"not valid JSON ({exc.msg} at column {exc.colno}); fix or remove the line")


def _json(path: Path) -> Iterator[RawRow]:
    if path.stat().st_size > JSON_MAX_BYTES:
        hint = f"a .json array is read whole: above {JSON_MAX_BYTES >> 20} MiB, give one row per line as .jsonl"
        yield RawRow(0, None, hint)
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace") or "[]")
    except json.JSONDecodeError as exc:
        yield RawRow(exc.lineno, None, f"not valid JSON ({exc.msg} at column {exc.colno})")
        return
    if not isinstance(data, list):
        yield RawRow(0, None, "a .json dataset must be an array of rows (use .jsonl for one row per line)")
        return
    yield from (RawRow(number, row) for number, row in enumerate(data, start=1))


def _csv(path: Path) -> Iterator[RawRow]:
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            line = reader.line_num
            try:
                yield RawRow(line, _decode_json_cells(row))
            except json.JSONDecodeError as exc:
                yield RawRow(line, None, f"a `messages`/`conversations` cell is not valid JSON ({exc.msg})")


def _decode_json_cells(row: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: v for k, v in row.items() if k is not None}
    for column in JSON_COLUMNS:
        if isinstance(cleaned.get(column), str):
            cleaned[column] = json.loads(cleaned[column])
    return cleaned


def _parquet(path: Path) -> Iterator[Any]:
    """Rows one record batch at a time (never the whole table in Python objects)."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=PARQUET_BATCH_ROWS)
        for batch in batches:
            yield from batch.to_pylist()
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DatasetFormatError("unreadable Parquet file", [Problem(str(exc), path.name, 0)]) from exc


def _hf_disk(path: Path) -> Iterable[Any]:
    from datasets import load_from_disk

    try:
        loaded = load_from_disk(str(path))
    except Exception as exc:  # datasets raises FileNotFoundError, ValueError, ...
        raise DatasetFormatError("unreadable datasets folder", [Problem(str(exc), path.name, 0)]) from exc
    if hasattr(loaded, "keys") and not hasattr(loaded, "to_list"):  # a DatasetDict: train on its train split
        if "train" not in loaded:
            raise DatasetFormatError("no train split", [Problem("a DatasetDict needs a `train` split", path.name, 0)])
        loaded = loaded["train"]
    return loaded  # type: ignore[no-any-return]  # a Dataset: rows read from its Arrow files one at a time


def _numbered(rows: Iterable[Any]) -> Iterator[RawRow]:
    yield from (RawRow(number, row) for number, row in enumerate(rows, start=1))
