"""One attempt at one job, start to end, in the calling (worker) thread:

    inputs (base model, rows, newest checkpoint) -> Unsloth + TRL training with JobCallback
    -> cancelled? JobCancelled : exports -> JobCompleted + ModelExported (one save)

Every failure ends as JobFailed with a category and a message a person can act on, except a lost
lease (another worker owns the job now), which records nothing. The scratch folder is removed and
training.log uploaded whatever happens.
"""

from __future__ import annotations

import contextlib
import random
import re
import shutil
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from contracts.events.jobs import JobCancelled, JobCompleted, JobFailed
from contracts.events.models import ModelExported
from services.runtime.artifacts import ArtifactError, layout
from services.runtime.logging import get_logger
from services.trainer import recipe
from services.trainer.context import TrainerContext
from services.trainer.errors import LeaseLostError, ModelLoadError, TrainerError
from services.trainer.exports import export_all
from services.trainer.inputs import base_model_dir, dataset_rows, load_dataset
from services.trainer.job_session import JobSession
from services.trainer.progress import JobProgress

Outcome = Literal["COMPLETED", "FAILED", "CANCELLED", "LOST"]
FAILURE_CATEGORIES = {"ValidationError", "ResourceError", "ModelError", "StorageError", "InternalError"}
log = get_logger("trainer.job")


def run_job(ctx: TrainerContext, job_id: UUID) -> Outcome:
    worker_dir = re.sub(r"[^A-Za-z0-9._-]", "_", ctx.settings.worker_id)
    workdir = ctx.settings.folder("work_dir") / worker_dir / f"job-{job_id}"
    workdir.mkdir(parents=True, exist_ok=True)
    session = JobSession(
        ctx.app, job_id, ctx.settings.worker_id, workdir / "training.log", ctx.settings.cancel_poll_seconds
    )
    _fetch_log(ctx, session)
    try:
        return _train_and_export(ctx, session, workdir)
    except LeaseLostError as exc:
        log.warning("job taken over by another worker; stopping quietly", job_id=str(job_id), error=str(exc))
        return "LOST"
    except Exception as exc:
        _fail(session, exc)
        return "FAILED"
    finally:
        _upload_log(ctx, session)
        shutil.rmtree(workdir, ignore_errors=True)


def _train_and_export(ctx: TrainerContext, session: JobSession, workdir: Path) -> Outcome:
    config = session.job.config
    progress, run = _train(ctx, session, workdir / "checkpoints")
    if progress.stopping:
        session.record(JobCancelled(step=run.global_step))
        return "CANCELLED"
    artifacts = export_all(run, config, str(session.job_id), ctx.store, workdir, ctx.gguf)
    completed = JobCompleted(
        steps=run.global_step,
        final_loss=progress.last_loss,
        eval_loss=progress.last_eval_loss,
        tokens_trained=run.tokens_seen,
        train_seconds=round(run.train_seconds, 3),
    )
    exported = ModelExported(base_model=config.base_model, dataset_id=config.dataset_id, artifacts=tuple(artifacts))
    session.record(completed, exported)  # one save: a completed job always has its exports
    return "COMPLETED"


def _train(ctx: TrainerContext, session: JobSession, output_dir: Path) -> tuple[JobProgress, recipe.RecipeRun]:
    config = session.job.config
    base_dir = base_model_dir(ctx.app, ctx.cache, config.base_model)
    dataset = load_dataset(ctx.app, config.dataset_id)
    train_rows, eval_rows = split_rows(dataset_rows(ctx.cache, dataset).rows, config.eval_split, config.seed)
    resume_from = _download_checkpoint(ctx, session, output_dir)
    recipe.import_unsloth()  # before transformers, TRL and PEFT
    import torch

    from services.trainer.adapters.callbacks import JobCallback

    progress = JobProgress(session, config, ctx.store, "cuda:0" if torch.cuda.is_available() else "cpu")
    progress.resumed_from = int(resume_from.name.removeprefix("checkpoint-")) if resume_from else None
    try:
        model, tokenizer = recipe.load_model(base_dir, config)
    except Exception as exc:  # transformers/unsloth raise many types for a bad model
        raise ModelLoadError(f"the base model {config.base_model!r} could not be loaded: {exc}") from exc
    callbacks = [JobCallback(progress, has_eval=bool(eval_rows))]
    run = recipe.train(
        model, tokenizer, config, train_rows, output_dir, eval_rows or None, callbacks, resume_from or False
    )
    return progress, run


def split_rows(
    rows: list[dict[str, Any]], eval_split: float, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A seeded, reproducible hold-out: the same job always evaluates on the same rows."""
    if not eval_split:
        return rows, []
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    held = set(order[: int(len(rows) * eval_split)])
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]


def _download_checkpoint(ctx: TrainerContext, session: JobSession, folder: Path) -> Path | None:
    """The newest recorded checkpoint that downloads intact (older ones if it does not), or None."""
    for checkpoint in sorted(session.job.checkpoints, key=lambda c: c.step, reverse=True):
        target = folder / f"checkpoint-{checkpoint.step}"
        try:
            return ctx.store.get_folder(
                layout.checkpoint(str(session.job_id), checkpoint.step), target, checkpoint.sha256
            )
        except ArtifactError as exc:
            shutil.rmtree(target, ignore_errors=True)
            session.log("checkpoint_unusable", step=checkpoint.step, error=str(exc))
    return None


def _fail(session: JobSession, exc: Exception) -> None:
    category = exc.category if isinstance(exc, TrainerError) else _category_of(exc)
    if category not in FAILURE_CATEGORIES:
        category = "InternalError"
    message = str(exc) if isinstance(exc, TrainerError) else f"{type(exc).__name__}: {exc}"
    log.error("job failed", job_id=str(session.job_id), category=category, error=message)
    with contextlib.suppress(LeaseLostError):  # another worker owns the job now: it records the outcome
        session.record(JobFailed(category=category, message=message[:4000] or category, step=session.job.step or None))


def _category_of(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}".lower()
    if "out of memory" in text or "can't allocate memory" in text or isinstance(exc, MemoryError):
        return "ResourceError"  # torch.OutOfMemoryError on GPU, DefaultCPUAllocator on CPU
    return "InternalError"


def _fetch_log(ctx: TrainerContext, session: JobSession) -> None:
    key = layout.job_log(str(session.job_id))
    if ctx.store.exists(key):  # an earlier attempt's log: this attempt appends to it
        ctx.store.get_file(key, session.log_path)


def _upload_log(ctx: TrainerContext, session: JobSession) -> None:
    try:
        ctx.store.put_file(layout.job_log(str(session.job_id)), session.log_path)
    except (ArtifactError, OSError) as exc:
        log.warning("training.log not uploaded", job_id=str(session.job_id), error=str(exc))
