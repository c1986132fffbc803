"""Safe defaults of the API: `greentune api serve` bound to the network without API keys refuses
to start, saying how to make a key, instead of serving anyone anonymously; loopback, keys or an
explicit insecure flag start it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from services.api.config import ApiSettings
from tests.api.conftest import free_port


def test_a_network_bind_without_api_keys_exits_at_once_saying_how_to_make_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENTUNE_")}
    env |= {
        "GREENTUNE_API_HOST": "0.0.0.0",
        "GREENTUNE_API_PORT": str(free_port()),
        "GREENTUNE_DATA_DIR": str(tmp_path),
    }
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "api", "serve"], env=env, capture_output=True, text=True, timeout=20
    )
    assert time.monotonic() - began < 20
    assert done.returncode != 0, done.stdout + done.stderr
    assert "GREENTUNE_API_KEYS" in done.stderr and "secrets.token_urlsafe" in done.stderr, done.stderr
    assert "GREENTUNE_API_ALLOW_ANONYMOUS" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_loopback_keys_or_the_insecure_flag_are_what_let_it_start() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        assert ApiSettings(host=host).keys == {}
    assert ApiSettings(host="0.0.0.0", keys={"alice": SecretStr("sk-a")}).host == "0.0.0.0"
    assert ApiSettings(host="0.0.0.0", allow_anonymous=True).allow_anonymous
    for host in ("0.0.0.0", "::", "10.1.2.3", "api.example.com"):
        with pytest.raises(ValidationError, match="no API keys"):
            ApiSettings(host=host)
