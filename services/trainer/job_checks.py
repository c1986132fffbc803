"""Everything a job request is checked against before it is queued: its config (all rule breaks at
once), its dataset and base model, row lengths under the model's tokenizer, export tools, and the
pre-flight memory estimate. Any problem refuses the job; nothing is recorded.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from pydantic import ValidationError

from contracts import Actor
from contracts.training_config import TrainingConfig
from services.trainer.context import TrainerContext
from services.trainer.domain import Dataset
from services.trainer.errors import GpuRequiredError, InvalidJobConfigError, Problem
from services.trainer.inputs import base_model_dir, dataset_rows, load_dataset
from services.trainer.model_files import read_model_shape
from services.trainer.preflight import MemoryEstimate, check_fits, estimate_memory

MAX_LISTED = 100  # rows listed in one refusal
GGUF_MISSING = (
    "GGUF export needs llama.cpp's converter: `pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36`, "
    "unpack it and set GREENTUNE_TRAINER_LLAMA_CPP_DIR to its vendor/llama.cpp folder (see README), "
    "or drop the gguf_* formats"
)
Q4_K_M_MISSING = (
    "gguf_q4_k_m needs llama-cpp-python built from that sdist (`pip install` it, ~5 min); f16 and q8_0 do not"
)


def parse_config(raw: dict[str, Any]) -> TrainingConfig:
    try:
        return TrainingConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(error["msg"], field=".".join(str(part) for part in error["loc"]) or None) for error in exc.errors()
        ]
        raise InvalidJobConfigError("invalid job config", problems) from None


def check_job(ctx: TrainerContext, config: TrainingConfig, actor: Actor | None = None) -> MemoryEstimate:
    """Pre-flight: raises InvalidJobConfigError, GpuRequiredError or InsufficientMemoryError."""
    problems: list[Problem] = []
    dataset = _collect(problems, lambda: load_dataset(ctx.app, config.dataset_id, actor))
    if isinstance(dataset, Dataset) and not dataset.valid:
        problems.append(Problem("the dataset failed validation; fix it and register it again", field="dataset_id"))
    model_dir = _collect(problems, lambda: base_model_dir(ctx.app, ctx.cache, config.base_model))
    if ctx.gguf is None and any(f.startswith("gguf") for f in config.export_formats):
        problems.append(Problem(GGUF_MISSING, field="export_formats"))
    elif "gguf_q4_k_m" in config.export_formats and importlib.util.find_spec("llama_cpp") is None:
        problems.append(Problem(Q4_K_M_MISSING, field="export_formats"))
    if problems:
        raise InvalidJobConfigError("job not queued", problems)
    assert isinstance(dataset, Dataset) and model_dir is not None
    if config.method == "qlora" and not ctx.settings.gpu_workers:
        raise GpuRequiredError("method=qlora needs a GPU worker (4-bit bases train on CUDA only); use method=lora here")
    _check_rows(ctx, config, dataset, model_dir)
    shape = read_model_shape(model_dir)
    estimate = estimate_memory(shape, config, ctx.settings.gpu_workers)
    check_fits(estimate, *_capacity(ctx))
    return estimate


def _collect(problems: list[Problem], load: Any) -> Any:
    try:
        return load()
    except InvalidJobConfigError as exc:
        problems.extend(exc.problems)
        return None


def _check_rows(ctx: TrainerContext, config: TrainingConfig, dataset: Dataset, model_dir: Any) -> None:
    rows = dataset_rows(ctx.cache, dataset)
    name = dataset.registered.name
    problems = []
    held_out = int(len(rows.rows) * config.eval_split)
    if config.eval_split and (held_out < 1 or held_out >= len(rows.rows)):
        message = f"eval_split {config.eval_split} of {len(rows.rows)} rows leaves no eval or no training rows"
        problems.append(Problem(message, field="eval_split"))
    report = ctx.tokens.measure(model_dir, zip(rows.rows, rows.lines, strict=True), config.max_seq_length)
    for line, length in report.too_long[:MAX_LISTED]:
        message = f"row is {length} tokens, over max_seq_length {config.max_seq_length}: raise it or shorten the row"
        problems.append(Problem(message, name, line, "max_seq_length"))
    for line in report.untrained[:MAX_LISTED]:
        message = "no token of this row is trained: the chat template renders no reply for it"
        problems.append(Problem(message, name, line))
    problems += [Problem(p.message, name, p.line, p.field) for p in report.refused[:MAX_LISTED]]
    if problems:
        raise InvalidJobConfigError("job not queued", problems)


def _capacity(ctx: TrainerContext) -> tuple[int, str]:
    if ctx.settings.worker_memory_bytes:
        return ctx.settings.worker_memory_bytes, "GREENTUNE_TRAINER_WORKER_MEMORY_BYTES"
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")  # bytes of RAM on this machine
    return total, "this machine's RAM; set GREENTUNE_TRAINER_WORKER_MEMORY_BYTES for workers"
