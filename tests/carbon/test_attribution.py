"""Per-request energy: a real vLLM load, metered by CodeCarbon; the shares carried in the
InferenceCompleted events add up to the engine's metered energy for the same period (within 10%)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from uuid import uuid4

import pytest

from services.carbon.app import CarbonService
from services.carbon.queries import EngineQuery


@pytest.mark.slow
async def test_request_shares_over_a_load_run_add_up_to_the_engines_metered_energy(
    nats_server, nc, carbon: CarbonService, tiny_finetuned_dir
):
    engine_id = f"engine-{uuid4().hex[:8]}"
    command = [
        sys.executable,
        "-m",
        "tests.carbon.metered_serving",
        nats_server.url,
        engine_id,
        str(tiny_finetuned_dir / "merged"),
        "6",
    ]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    await carbon.catch_up()

    engine = carbon.handlers.engine(EngineQuery(engine_id=engine_id))
    assert engine.attributed_kwh is not None
    ratio = engine.attributed_kwh / engine.energy_kwh
    print(
        f"\nengine {engine_id}: {engine.requests} requests, metered {engine.energy_kwh:.6g} kWh "
        f"in {engine.intervals} intervals, sum of per-request shares {engine.attributed_kwh:.6g} kWh "
        f"(ratio {ratio:.4f}); {[line for line in done.stdout.splitlines() if line.startswith('requests=')]}"
    )
    assert engine.requests >= 16 and engine.final_seen and engine.missing_sequences == []
    assert abs(ratio - 1.0) <= 0.10
    by_key = {row["api_key"]: row for row in carbon.handlers.reports.per_api_key()}
    assert by_key["key-load"]["serving_kwh"] == pytest.approx(engine.attributed_kwh)
    assert by_key["key-load"]["serving_g_per_1k_generated_tokens"] > 0
