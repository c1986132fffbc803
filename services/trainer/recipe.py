"""The fine-tuning run, start to end, in one linear function: Unsloth FastLanguageModel + TRL SFTTrainer.

    setup (load base, attach adapters) -> train (checkpoints, callbacks) -> return the trained model

The same code trains on CPU (Unsloth's CPU backend: stock transformers+PEFT+TRL with its patches)
and on GPU (Unsloth's kernels). Unsloth must be imported before transformers, TRL and PEFT, so
this module imports them inside the functions; nothing heavy happens at import time.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.training_config import TrainingConfig


@dataclass
class RecipeRun:
    """What a finished (or stopped) run leaves behind."""

    model: Any
    tokenizer: Any
    global_step: int
    max_steps: int
    train_seconds: float
    tokens_seen: int
    log_history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def losses(self) -> list[tuple[int, float]]:
        return [(int(h["step"]), float(h["loss"])) for h in self.log_history if "loss" in h]


def import_unsloth() -> Any:
    """Import Unsloth first (it patches transformers/TRL); offline and quiet."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("UNSLOTH_DISABLE_STATISTICS", "1")
    os.environ.setdefault("UNSLOTH_AUTO_INSTALL", "0")
    # Unsloth's vLLM probe loads an AVX-512 build that kills AVX2-only CPUs; training never uses vLLM.
    from services.trainer.adapters.unsloth_import import import_unsloth_without_vllm

    return import_unsloth_without_vllm()


def load_model(base_model_dir: Path, config: TrainingConfig) -> tuple[Any, Any]:
    """Base model and tokenizer, with LoRA adapters attached unless the method is `full`."""
    import_unsloth()
    import torch
    from unsloth import FastLanguageModel

    on_gpu = torch.cuda.is_available()
    model, tokenizer = FastLanguageModel.from_pretrained(
        str(base_model_dir),
        max_seq_length=config.max_seq_length,
        load_in_4bit=config.method == "qlora",
        dtype=None if on_gpu else torch.float32,
        full_finetuning=config.method == "full",
    )
    if config.method != "full":
        model = FastLanguageModel.get_peft_model(
            model,
            r=config.lora.rank,
            lora_alpha=config.lora.alpha,
            lora_dropout=config.lora.dropout,
            target_modules=list(config.lora.target_modules),
            random_state=config.seed,
            use_gradient_checkpointing="unsloth" if on_gpu else False,
        )
    return model, tokenizer


def sft_config(config: TrainingConfig, output_dir: Path, has_eval: bool) -> Any:
    """TRL settings for `config`. Rows come tokenized with their loss masks (see `tokenized`)."""
    import torch
    from trl import SFTConfig

    on_gpu = torch.cuda.is_available()
    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs or 1.0,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=config.warmup_steps,
        weight_decay=0.0,
        logging_steps=1,
        save_strategy="steps",
        save_steps=config.checkpoint_interval_steps,
        save_total_limit=config.keep_last_checkpoints,
        eval_strategy="epoch" if has_eval else "no",
        report_to="none",
        disable_tqdm=True,
        seed=config.seed,
        data_seed=config.seed,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        fp16=False,
        gradient_checkpointing=False,  # Unsloth applies its own on GPU (see load_model)
        dataloader_num_workers=0,
        max_length=config.max_seq_length,
        assistant_only_loss=False,  # the rows' own `assistant_masks` say what is trained
        packing=False,
        include_num_input_tokens_seen=True,
    )


def train(
    model: Any,
    tokenizer: Any,
    config: TrainingConfig,
    train_rows: list[dict[str, Any]],
    output_dir: Path,
    eval_rows: list[dict[str, Any]] | None = None,
    callbacks: list[Any] | None = None,
    resume: bool | Path = False,
) -> RecipeRun:
    """Run SFT on chat rows (`messages`) or text rows (`text`); checkpoints land in `output_dir/checkpoint-<step>`.

    `resume`: True continues from the newest checkpoint in `output_dir`, a path from that checkpoint.
    """
    from transformers import PrinterCallback
    from trl import SFTTrainer

    trainer = SFTTrainer(
        model=model,
        args=sft_config(config, output_dir, bool(eval_rows)),
        train_dataset=tokenized(tokenizer, train_rows),
        eval_dataset=tokenized(tokenizer, eval_rows) if eval_rows else None,
        processing_class=tokenizer,
        callbacks=callbacks or [],
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout
    started = time.perf_counter()
    checkpoint = str(resume) if isinstance(resume, Path) else (True if resume else None)
    outcome = trainer.train(resume_from_checkpoint=checkpoint)
    return RecipeRun(
        model=trainer.model,
        tokenizer=tokenizer,
        global_step=outcome.global_step,
        max_steps=trainer.state.max_steps,
        train_seconds=time.perf_counter() - started,
        tokens_seen=int(trainer.state.num_input_tokens_seen or 0),
        log_history=list(trainer.state.log_history),
    )


def tokenized(tokenizer: Any, rows: list[dict[str, Any]]) -> Any:
    """Rows as the validation preview showed them: ids and a mask, 1 on the tokens the loss trains on
    (assistant replies in chat rows, every token of text rows), for any chat template."""
    from datasets import Dataset

    from services.trainer.adapters.tokenizer import encode

    encoded = [encode(tokenizer, row) for row in rows]
    return Dataset.from_dict({"input_ids": [ids for ids, _ in encoded], "assistant_masks": [m for _, m in encoded]})


def save_lora(run: RecipeRun, folder: Path) -> Path:
    run.model.save_pretrained(str(folder))
    run.tokenizer.save_pretrained(str(folder))
    return folder


def save_merged_16bit(run: RecipeRun, folder: Path) -> Path:
    run.model.save_pretrained_merged(str(folder), run.tokenizer, save_method="merged_16bit")
    return folder
