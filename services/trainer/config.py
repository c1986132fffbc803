"""Trainer settings (env prefix GREENTUNE_TRAINER_), validated when built; every bad value is reported at once."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GPU_DRIVER_FILE = Path("/proc/driver/nvidia/version")  # present on machines with an NVIDIA driver


class TrainerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENTUNE_TRAINER_", extra="ignore")

    work_dir: Path | None = Field(None, description="Scratch space of workers (default <data dir>/trainer-work).")
    cache_dir: Path | None = Field(None, description="Downloaded base models and datasets (default <data dir>/cache).")
    worker_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}", description="Name of this worker."
    )
    worker_memory_bytes: int | None = Field(
        None, ge=1, description="Memory of a trainer worker for the pre-flight check (default: this machine's RAM)."
    )
    gpu_workers: bool = Field(
        default_factory=GPU_DRIVER_FILE.exists, description="Whether workers train on a GPU (default: detected)."
    )
    queue_ack_wait_seconds: float = Field(
        30.0, gt=0, description="A job whose worker sends no heartbeat for this long goes to another worker."
    )
    max_attempts: int = Field(5, ge=1, description="Runs of one job (worker deaths included) before it fails.")
    fetch_timeout_seconds: float = Field(1.0, gt=0, description="How long an idle worker waits per queue poll.")
    cancel_poll_seconds: float = Field(0.5, gt=0, description="How often a running job looks for a cancel request.")
    rpc_timeout_seconds: float = Field(
        120.0, gt=0, description="CLI wait for a command's reply (validation may tokenize)."
    )
    budget_check: Literal["carbon", "off"] = Field(
        "carbon", description="`carbon`: ask rpc.carbon.budget.check before queueing an API key's job."
    )
    measure_energy: bool = Field(True, description="Workers meter each job's energy (carbon service reporter).")
    llama_cpp_dir: Path | None = Field(
        None, description="vendor/llama.cpp of the llama-cpp-python sdist (convert_hf_to_gguf.py + gguf-py), for GGUF."
    )

    def folder(self, name: str) -> Path:
        """`work_dir` or `cache_dir`, once resolved() placed the defaults."""
        path = getattr(self, name)
        if not isinstance(path, Path):
            raise ValueError(f"{name} is unset: build the settings with resolved(data_dir)")
        return path

    def resolved(self, data_dir: Path) -> TrainerSettings:
        """A copy with the default folders placed under `data_dir`."""
        return self.model_copy(
            update={
                "work_dir": self.work_dir or data_dir / "trainer-work",
                "cache_dir": self.cache_dir or data_dir / "cache",
            }
        )
