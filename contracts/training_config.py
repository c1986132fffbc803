"""The whole configuration of a fine-tuning job, as carried by JobRequested.

Structural rules (ranges, required fields) live here so that every producer and reader agrees on
them; checks that need I/O (does the base model exist, does the job fit in memory) belong to the
trainer. Pydantic reports every violated rule at once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from contracts.base import ValueObject

DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoraSettings(ValueObject):
    """Low-rank adapter hyper-parameters (ignored by full fine-tuning)."""

    rank: int = Field(16, ge=1, le=1024, description="LoRA rank r: the adapter's inner dimension.")
    alpha: float = Field(32.0, gt=0, description="LoRA alpha; the update is scaled by alpha / rank.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the adapter input, 0 <= p < 1.")
    target_modules: tuple[str, ...] = Field(
        DEFAULT_TARGET_MODULES, min_length=1, description="Names of the linear layers that get adapters."
    )


class TrainingConfig(ValueObject):
    """Everything a trainer worker needs to run a job; nothing is looked up from elsewhere."""

    base_model: str = Field(
        min_length=1, description="Registered base model name, local HF folder or s3:// URI of one."
    )
    dataset_id: str = Field(min_length=1, description="Id of a registered, validated dataset.")
    method: Literal["lora", "qlora", "full"] = Field(
        "lora",
        description="`lora`: adapters on a frozen base; `qlora`: adapters on a 4-bit base (GPU only); "
        "`full`: every weight is trained.",
    )
    lora: LoraSettings = Field(default_factory=LoraSettings, description="Adapter settings (lora, qlora).")
    learning_rate: float = Field(2e-4, gt=0, le=1, description="Peak learning rate, > 0.")
    epochs: float | None = Field(
        1.0, gt=0, le=10_000, description="Passes over the training split; ignored when max_steps is set."
    )
    max_steps: int | None = Field(
        None, ge=1, description="Stop after this many optimizer steps (overrides epochs when set)."
    )
    batch_size: int = Field(8, ge=1, le=4096, description="Rows per device per step.")
    gradient_accumulation_steps: int = Field(1, ge=1, le=1024, description="Micro-batches per optimizer step.")
    max_seq_length: int = Field(2048, ge=8, le=1_048_576, description="Tokens per row after the chat template.")
    warmup_steps: int = Field(0, ge=0, description="Linear learning-rate warm-up steps.")
    seed: int = Field(0, ge=0, description="Seed for data order, adapter init and dropout.")
    eval_split: float = Field(0.0, ge=0, lt=1, description="Fraction of rows held out for eval loss, 0 = none.")
    checkpoint_interval_steps: int = Field(100, ge=1, description="Save a resumable checkpoint every N steps.")
    keep_last_checkpoints: int = Field(2, ge=1, le=100, description="Older checkpoints are deleted.")
    progress_interval_steps: int = Field(1, ge=1, description="Emit TrainingProgressed every N steps.")
    priority: int = Field(0, ge=-100, le=100, description="Higher runs first when several jobs wait.")
    export_formats: tuple[Literal["lora", "merged_16bit", "gguf_f16", "gguf_q8_0", "gguf_q4_k_m"], ...] = Field(
        ("lora", "merged_16bit"), description="Artifacts to export when training completes."
    )

    @model_validator(mode="after")
    def _has_a_length(self) -> TrainingConfig:
        if self.epochs is None and self.max_steps is None:
            raise ValueError("set epochs or max_steps: the job needs to know when to stop")
        return self
