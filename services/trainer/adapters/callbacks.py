"""The TrainerCallback that connects the Hugging Face training loop to JobProgress.

Imported only inside a worker's training process (it subclasses transformers.TrainerCallback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from services.trainer.progress import JobProgress


class JobCallback(TrainerCallback):  # type: ignore[misc]  # transformers is untyped here
    def __init__(self, progress: JobProgress, has_eval: bool) -> None:
        self.progress = progress
        self.has_eval = has_eval

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.progress.begin(state.global_step, state.max_steps, int(state.num_input_tokens_seen or 0))

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or "loss" not in logs:
            return  # eval and end-of-training summaries carry no step loss
        grad_norm = logs.get("grad_norm")
        self.progress.logged(
            step=state.global_step,
            epoch=float(state.epoch or 0.0),
            loss=float(logs["loss"]),
            lr=float(logs.get("learning_rate", 0.0)),
            grad_norm=float(grad_norm) if grad_norm is not None else None,
            tokens=int(state.num_input_tokens_seen or 0),
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress.should_stop():
            control.should_training_stop = True
            control.should_save = False  # a cancelled job keeps its last regular checkpoint only

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.progress.epoch_ended(float(state.epoch or 0.0), state.global_step, self.has_eval)

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        loss = (metrics or {}).get("eval_loss")
        self.progress.evaluated(float(loss) if loss is not None else None)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        self.progress.checkpoint_saved(state.global_step, folder)
