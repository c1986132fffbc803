"""Settings of the API gateway (env prefix GREENTUNE_API_), validated at start-up."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.api.auth import KEY_RECIPE


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENTUNE_API_", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to listen on; 0.0.0.0 exposes it to the network.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the HTTP server.")
    allow_anonymous: bool = Field(
        False,
        description="Serve a non-loopback host without API keys (anyone who reaches it may train and chat): "
        "only behind a proxy of your own that authenticates.",
    )
    dashboard_dir: Path = Field(
        Path(__file__).resolve().parents[2] / "frontend" / "build",
        description="The built dashboard served at `/` (default: frontend/build of this checkout).",
    )
    max_upload_bytes: int = Field(
        2 * 2**30, ge=1, description="Largest dataset upload, bytes (spooled to disk, then to the artifact store)."
    )
    max_body_bytes: int = Field(
        16 * 2**20, ge=1, description="Largest request body of every route but uploads, bytes (413 above it)."
    )
    max_concurrent_per_key: int = Field(
        8, ge=1, description="Generations (/v1) and job creations one API key may have running at once (429 above)."
    )
    max_requests_per_minute_per_key: int = Field(
        600, ge=1, description="Generations (/v1) and job creations one API key may start per minute (429 above)."
    )
    overview_path: Path | None = Field(
        None,
        description="The API's overview read model (SQLite), kept between starts; default "
        "<data dir>/views/api-overview.sqlite. Each API process needs its own.",
    )
    request_timeout_s: float = Field(
        300.0, gt=0, description="How long a request may wait for the inference service (an engine may be starting)."
    )

    def refuse_without_keys(self, has_keys: bool) -> str | None:
        """Why this API must not serve (a network bind and no API key yet), or None."""
        if has_keys or self.allow_anonymous or is_loopback(self.host):
            return None
        return (
            f"GREENTUNE_API_HOST={self.host} exposes the API to the network but no API key exists, so anyone "
            f"could use it: {KEY_RECIPE}, then start the API again; or set GREENTUNE_API_ALLOW_ANONYMOUS=true "
            "behind a proxy that authenticates"
        )

    def body_limit(self, method: str, path: str) -> int:
        """The largest body a request may send: an upload its file plus the form around it."""
        if method == "POST" and path == "/api/v1/datasets":
            return self.max_upload_bytes + 2**16
        return self.max_body_bytes


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything
