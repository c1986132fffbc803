"""`/health/live` and `/health/ready` with every service running behind the gateway: ready lists
each dependency with its state; the inference service stopped makes it unready (saying so) within
10 s, and ready again once the service is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.stack import every_service
from tests.inference.conftest import StoredModels

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]
WITHIN_S = 10.0


async def _until_ready_is(http: httpx.AsyncClient, status: int, timeout: float) -> tuple[float, dict[str, Any]]:
    began = time.monotonic()
    while (answer := await http.get("/health/ready")).status_code != status:
        assert time.monotonic() - began < timeout, f"not {status} within {timeout} s: {answer.text}"
        await asyncio.sleep(0.2)
    return time.monotonic() - began, answer.json()


async def test_ready_lists_every_dependency_and_follows_the_inference_service(
    nats_server, stored_models: StoredModels, tmp_path: Path
):  # type: ignore[no-untyped-def]
    async with (
        every_service(nats_server.url, stored_models, tmp_path) as stack,
        httpx.AsyncClient(base_url=stack.url, timeout=30) as http,
    ):
        assert (await http.get("/health/live")).json() == {"status": "live"}
        _, ready = await _until_ready_is(http, 200, 30)
        checks = ready["checks"]
        assert ready["status"] == "ready" and set(checks) == {
            "nats", "events_stream", "overview", "artifacts", "disk", "trainer", "inference", "registry", "carbon",
        }  # fmt: skip
        assert all(check["ok"] for check in checks.values()), checks
        assert checks["inference"]["data"]["engines"] == [] and checks["disk"]["data"]["free_bytes"] > 0

        await stack.stop_inference()
        took, unready = await _until_ready_is(http, 503, WITHIN_S)
        print(f"unready {took:.2f} s after the inference service stopped")
        assert unready["status"] == "unready" and not unready["checks"]["inference"]["ok"]
        assert "rpc.inference.health" in unready["checks"]["inference"]["detail"]
        assert all(check["ok"] for name, check in unready["checks"].items() if name != "inference")

        await stack.start_inference()
        took, again = await _until_ready_is(http, 200, WITHIN_S)
        print(f"ready again {took:.2f} s after the inference service was back")
        assert again["checks"]["inference"]["ok"]
