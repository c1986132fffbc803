"""Settings of the API gateway (env prefix GREENTUNE_API_), validated at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENTUNE_API_", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to listen on; 0.0.0.0 exposes it to the network.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the HTTP server.")
    keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='API keys as JSON, key id -> secret: {"alice": "sk-..."}. Requests then need '
        "`Authorization: Bearer <secret>` and are recorded under the key id. Empty: no auth, every "
        "request is recorded as key id `anonymous` (fine on 127.0.0.1, not on a network).",
    )
    dashboard_dir: Path = Field(
        Path(__file__).resolve().parents[2] / "frontend" / "build",
        description="The built dashboard served at `/` (default: frontend/build of this checkout).",
    )
    max_upload_bytes: int = Field(
        2 * 2**30, ge=1, description="Largest dataset upload, bytes (spooled to disk, then to the artifact store)."
    )
    overview_path: Path | None = Field(
        None,
        description="The API's overview read model (SQLite), kept between starts; default "
        "<data dir>/views/api-overview.sqlite. Each API process needs its own.",
    )
    request_timeout_s: float = Field(
        300.0, gt=0, description="How long a request may wait for the inference service (an engine may be starting)."
    )
