"""Safe defaults of the API: `greentune api serve` bound to the network while no API key exists
refuses to start, saying how to make one, instead of serving anyone anonymously; loopback, a key
(an ApiKeyCreated on the log) or an explicit insecure flag start it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from services.api.config import ApiSettings
from services.runtime.jetstream import connect, ensure_stream
from services.runtime.nats_server import NatsServer
from tests.api.conftest import free_port
from tests.api.keys import publish_key


def _serve(nats_url: str, data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENTUNE_")}
    env |= {
        "GREENTUNE_API_HOST": "0.0.0.0",
        "GREENTUNE_API_PORT": str(port),
        "GREENTUNE_DATA_DIR": str(data_dir),
        "GREENTUNE_NATS_URL": nats_url,
    }
    command = [sys.executable, "-m", "services.cli.main", "api", "serve"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_network_bind_without_api_keys_exits_at_once_saying_how_to_make_a_key(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    began = time.monotonic()
    out, err = _serve(nats_server.url, tmp_path, free_port()).communicate(timeout=20)
    assert time.monotonic() - began < 20
    assert "greentune keys create --role admin" in err and "GREENTUNE_API_ALLOW_ANONYMOUS" in err, out + err
    assert "Traceback" not in err, err


def test_with_nats_unreachable_it_still_exits_in_time_saying_what_to_start_and_how_to_make_a_key(
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    out, err = _serve(f"nats://127.0.0.1:{free_port()}", tmp_path, free_port()).communicate(timeout=20)
    assert time.monotonic() - began < 20
    assert "did not answer" in err and "greentune up" in err and "greentune keys create" in err, out + err
    assert "Traceback" not in err, err


def test_once_a_key_exists_a_network_bind_serves_and_asks_for_it(nats_server: NatsServer, tmp_path: Path) -> None:
    import httpx

    async def issue() -> None:
        nc = await connect(nats_server.url, "tests")
        await ensure_stream(nc.jetstream())
        await publish_key(nc, "sk-gt-safe-defaults", "ops")
        await nc.close()

    asyncio.run(issue())
    port = free_port()
    api = _serve(nats_server.url, tmp_path, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert api.poll() is None, api.communicate()[1]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not become ready"
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/jobs").status_code == 401
        auth = {"Authorization": "Bearer sk-gt-safe-defaults"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/jobs", headers=auth).status_code == 200
    finally:
        api.terminate()
        api.wait(timeout=30)


def test_loopback_a_key_or_the_insecure_flag_are_what_let_it_serve() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        assert ApiSettings(host=host).refuse_without_keys(has_keys=False) is None
    assert ApiSettings(host="0.0.0.0").refuse_without_keys(has_keys=True) is None
    assert ApiSettings(host="0.0.0.0", allow_anonymous=True).refuse_without_keys(has_keys=False) is None
    for host in ("0.0.0.0", "::", "10.1.2.3", "api.example.com"):
        refusal = ApiSettings(host=host).refuse_without_keys(has_keys=False)
        assert refusal is not None and "no API key exists" in refusal
