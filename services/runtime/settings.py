"""Settings every service shares (env prefix GREENTUNE_). Services add their own classes beside it.

Fails fast: a bad value is reported, with every other bad value, when the settings are built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KernelSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENTUNE_", extra="ignore")

    nats_url: str = Field("nats://127.0.0.1:4222", description="NATS server(s), comma-separated.")
    data_dir: Path = Field(Path(".greentune"), description="Where embedded state lives (stores, artifacts).")
    stream_replicas: int = Field(1, ge=1, le=5, description="Replicas of the EVENTS stream (3 on a cluster).")
    event_store: Literal["sqlite", "postgres"] = Field("sqlite", description="Write-side store of each service.")
    postgres_dsn: str | None = Field(None, description="postgresql://user:pass@host/db when event_store=postgres.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
