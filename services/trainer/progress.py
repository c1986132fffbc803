"""What a job records while it trains: the translation from training-loop moments (begin, logged
step, epoch end, evaluation, checkpoint saved) to events. Knows nothing of transformers; the
TrainerCallback in adapters/callbacks.py calls it.
"""

from __future__ import annotations

import time
from pathlib import Path

from contracts.events.jobs import CheckpointSaved, EpochCompleted, TrainingProgressed
from contracts.training_config import TrainingConfig
from services.runtime.artifacts import ArtifactError, ArtifactStore, layout
from services.trainer.errors import StorageError
from services.trainer.job_session import JobSession


class JobProgress:
    def __init__(self, session: JobSession, config: TrainingConfig, store: ArtifactStore, device: str) -> None:
        self.session, self.config, self.store, self.device = session, config, store, device
        self.resumed_from: int | None = None
        self.max_steps = 0
        self.last_loss: float | None = None
        self.last_eval_loss: float | None = None
        self.epoch_losses: list[float] = []
        self.pending_epoch: EpochCompleted | None = None
        self.stopping = False  # a cancel was seen: the loop ends after this step
        self._mark: tuple[float, int] = (time.perf_counter(), 0)  # (time, tokens) at the last progress event

    def begin(self, global_step: int, max_steps: int, tokens_seen: int) -> None:
        self.max_steps = max_steps
        self.session.start(self.device, self.resumed_from, max_steps)
        self._mark = (time.perf_counter(), tokens_seen)

    def logged(self, step: int, epoch: float, loss: float, lr: float, grad_norm: float | None, tokens: int) -> None:
        self.last_loss = loss
        self.epoch_losses.append(loss)
        if step % self.config.progress_interval_steps and step != self.max_steps:
            return
        now = time.perf_counter()
        elapsed, new_tokens = now - self._mark[0], tokens - self._mark[1]
        self._mark = (now, tokens)
        self.session.record(
            TrainingProgressed(
                step=step,
                max_steps=self.max_steps,
                epoch=epoch,
                loss=loss,
                learning_rate=lr,
                grad_norm=grad_norm,
                tokens_per_second=round(new_tokens / elapsed, 1) if elapsed > 0 and new_tokens >= 0 else None,
                tokens_seen=tokens,
                attempt=self.session.attempt,
            )
        )

    def should_stop(self) -> bool:
        self.stopping = self.stopping or self.session.cancel_requested()
        return self.stopping

    def epoch_ended(self, epoch: float, step: int, has_eval: bool) -> None:
        if self.stopping or abs(epoch - round(epoch)) > 1e-6 or round(epoch) < 1:
            return  # a stop mid-epoch also fires on_epoch_end: that is no completed epoch
        mean = sum(self.epoch_losses) / len(self.epoch_losses) if self.epoch_losses else None
        self.epoch_losses = []
        event = EpochCompleted(epoch=round(epoch), step=step, train_loss=mean)
        if has_eval:
            self.pending_epoch = event  # the evaluation runs right after on_epoch_end
        else:
            self.session.record(event)

    def evaluated(self, eval_loss: float | None) -> None:
        self.last_eval_loss = eval_loss
        if self.pending_epoch is not None:
            self.session.record(self.pending_epoch.model_copy(update={"eval_loss": eval_loss}))
            self.pending_epoch = None

    def checkpoint_saved(self, step: int, folder: Path) -> None:
        """Copy the checkpoint to the artifact store, record it, keep the newest K there."""
        job_id = str(self.session.job_id)
        try:
            stored = self.store.put_folder(layout.checkpoint(job_id, step), folder)
            self.store.put_file(layout.job_log(job_id), self.session.log_path)
        except (ArtifactError, OSError) as exc:
            raise StorageError(f"checkpoint {step} could not be stored: {exc}") from exc
        self.session.record(
            CheckpointSaved(step=step, uri=stored.uri, size_bytes=stored.size_bytes, sha256=stored.sha256)
        )
        self._prune(job_id)

    def _prune(self, job_id: str) -> None:
        keep = {
            c.step
            for c in sorted(self.session.job.checkpoints, key=lambda c: c.step)[-self.config.keep_last_checkpoints :]
        }
        prefix = layout.checkpoints(job_id)
        folders = {key[len(prefix) + 1 :].split("/", 1)[0] for key in self.store.list_keys(prefix)}
        for name in folders:  # also removes half-uploaded folders of a worker that died mid-copy
            if name.startswith("checkpoint-") and int(name.removeprefix("checkpoint-")) not in keep:
                self.store.delete_prefix(f"{prefix}/{name}")
