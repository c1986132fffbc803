"""Pre-flight memory estimate of a job: will it fit in a worker before any compute is spent?

Pure arithmetic over the model's shape and the job's config. Deliberately rough (within ~2x):
it exists to refuse jobs that cannot possibly fit, not to predict peak memory to the megabyte.
Checked against the tiny model: estimate ~0.55 GB, measured peak RSS 0.55-0.62 GB.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.training_config import TrainingConfig
from services.trainer.errors import InsufficientMemoryError
from services.trainer.model_files import ModelShape

GIB = 1 << 30
FRAMEWORK_OVERHEAD = 512 << 20  # bytes: torch + transformers + tokenizer in a CPU process (~0.5 GB measured)
HEADROOM = 0.9  # use at most 90% of the worker's memory


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int  # bytes
    trainable_parameters: int
    optimizer: int  # gradients + AdamW states, bytes
    activations: int  # bytes, incl. logits
    overhead: int

    @property
    def total(self) -> int:
        return self.weights + self.optimizer + self.activations + self.overhead

    def describe(self) -> str:
        parts = ("weights", "optimizer", "activations", "overhead")
        return ", ".join(f"{name} {getattr(self, name) / GIB:.2f}" for name in parts)


def estimate_memory(shape: ModelShape, config: TrainingConfig, on_gpu: bool) -> MemoryEstimate:
    weight_bytes = 0.55 if config.method == "qlora" else (2 if on_gpu else 4)  # 4-bit incl. scales; bf16; fp32
    if config.method == "full":
        trainable = shape.parameters
    else:
        trainable = shape.lora_parameters(config.lora.rank, config.lora.target_modules)
    # fp32 gradient + two AdamW moments per trained weight (+ fp32 master copy when weights are bf16)
    optimizer = trainable * (12 + (4 if on_gpu and config.method == "full" else 0))
    return MemoryEstimate(
        weights=int(shape.parameters * weight_bytes),
        trainable_parameters=trainable,
        optimizer=optimizer,
        activations=_activations(shape, config, on_gpu),
        overhead=FRAMEWORK_OVERHEAD,
    )


def _activations(shape: ModelShape, config: TrainingConfig, on_gpu: bool) -> int:
    tokens = config.batch_size * config.max_seq_length
    scale = 1 if on_gpu else 2  # bytes per value relative to 16-bit
    # Korthikanti et al. 2022: ~34*h bytes per token per layer + 5*heads*seq bytes per token (16-bit, no recompute)
    per_layer = tokens * (34 * shape.hidden_size + 5 * shape.num_heads * config.max_seq_length) * scale
    layers = shape.num_layers if not on_gpu else 2  # GPU runs keep only layer inputs (gradient checkpointing)
    logits = tokens * shape.vocab_size * 4 * 2  # fp32 logits and their gradient
    return per_layer * max(layers, 1) + logits


def check_fits(estimate: MemoryEstimate, capacity_bytes: int, capacity_source: str) -> None:
    """Refuse a job whose estimate exceeds the worker's usable memory."""
    usable = int(capacity_bytes * HEADROOM)
    if estimate.total <= usable:
        return
    raise InsufficientMemoryError(
        f"the job needs about {estimate.total / GIB:.2f} GiB ({estimate.describe()} GiB) but a worker has "
        f"{usable / GIB:.2f} GiB usable ({capacity_source}); lower batch_size or max_seq_length, "
        "use method=lora (or qlora on a GPU), or add a bigger worker"
    )
