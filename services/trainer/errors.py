"""The trainer's error tree: one base, errors named after the condition, each with a category.

`category` is what a JobFailed event carries (contracts FailureCategory plus `NotFound`/`Conflict`/
`BudgetError`/`Unavailable` for refused commands); `status` is the HTTP status of a refused command's
problem. A `Problem` names the file, line and field at fault, so a refusal says exactly what to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from services.runtime.problems import ServiceError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (file, line, field) and what to do."""

    message: str
    file: str | None = None
    line: int | None = None  # 1-based line (JSONL/CSV) or row number; 0 = the whole file
    field: str | None = None

    def __str__(self) -> str:
        where = [self.file or "", f"line {self.line}" if self.line else "", f"field {self.field}" if self.field else ""]
        prefix = ", ".join(w for w in where if w)
        return f"{prefix}: {self.message}" if prefix else self.message


class TrainerError(ServiceError):
    """Base of every trainer error."""

    category: ClassVar[str] = "InternalError"
    status: ClassVar[int] = 500
    problems: tuple[Problem, ...]

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.problems = tuple(problems)
        details = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{message}: {details}{more}" if details else message)
        self.message = message


class InvalidInputError(TrainerError):
    """A command's input is wrong; every problem found is listed."""

    category = "ValidationError"
    status = 400


class DatasetFormatError(InvalidInputError):
    """A dataset file cannot be read or has rows that do not fit its format."""


class InvalidJobConfigError(InvalidInputError):
    """A job configuration breaks a rule (ranges, missing dataset or base model, rows too long)."""


class InvalidBaseModelError(InvalidInputError):
    """A folder given as a base model is not a loadable Hugging Face model."""


class InsufficientMemoryError(TrainerError):
    """The pre-flight estimate says the job cannot fit in the worker's memory."""

    category = "ResourceError"
    status = 422


class GpuRequiredError(TrainerError):
    """The job asks for something only a GPU can do (QLoRA's 4-bit base)."""

    category = "ResourceError"
    status = 422


class BudgetExceededError(TrainerError):
    """The requester's energy or CO2 budget is spent; no new job until it is raised."""

    category = "BudgetError"
    status = 403


class BudgetUnavailableError(TrainerError):
    """The requester's budget cannot be checked (no carbon service answered); try again once it runs."""

    category = "Unavailable"
    status = 503


class UnknownJobError(TrainerError):
    category = "NotFound"
    status = 404


class JobStateError(TrainerError):
    """The job is not in a state that allows the command (e.g. cancelling a completed job)."""

    category = "Conflict"
    status = 409


class ModelLoadError(TrainerError):
    """The base model could not be loaded or trained (corrupt weights, unsupported architecture)."""

    category = "ModelError"


class StorageError(TrainerError):
    """The artifact store failed or holds corrupt bytes."""

    category = "StorageError"


class ExportToolMissingError(InvalidInputError):
    """GGUF export was asked for but llama.cpp's converter is not installed."""


class LeaseLostError(TrainerError):
    """Another worker took over this job (this worker was presumed dead); stop without recording more."""
