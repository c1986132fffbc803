"""A real inference load through the inference service (vLLM, the tiny fine-tuned model, RPC), metered
by the process's CodeCarbon meter: each InferenceCompleted carries its request's share of the energy,
and the engine's EmissionsMeasured cover the load window (reporter started just before the load and
stopped just after it, on the same meter), so the two can be compared for the same period.

python -m tests.carbon.metered_serving NATS_URL ENGINE_ID MODEL_DIR LOAD_SECONDS
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

from contracts import Actor
from services.carbon.config import CarbonSettings
from services.carbon.domain import MeteredSubject
from services.carbon.metering import engine_reporter, process_meter
from services.inference.app import start_app
from services.inference.client import InferenceClient
from services.inference.config import InferenceSettings
from services.inference.domain import SamplingSettings
from services.inference.protocol import ArtifactLocation, ChatMessage, GenerateRequest
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.settings import KernelSettings
from services.trainer.demo_facts import demo_facts, question

CLIENT = Actor(kind="api_key", id="key-load")
CONCURRENCY = 16  # requests in flight
SAMPLING = SamplingSettings(temperature=0.8, max_tokens=32, min_tokens=32)


def request(n: int) -> GenerateRequest:
    key = demo_facts()[n % 200][0]
    return GenerateRequest(
        model="facts",
        messages=(ChatMessage(role="user", content=question(key)),),
        sampling=SAMPLING.model_copy(update={"seed": n}),
        actor=CLIENT,
    )


async def main(url: str, engine_id: str, model_dir: str, seconds: float) -> None:
    work = Path(tempfile.mkdtemp(prefix="metered-serving-"))
    store = LocalArtifactStore(work / "artifacts")
    stored = store.put_folder("models/facts", Path(model_dir))
    settings = InferenceSettings(engine_id=engine_id, cache_dir=work / "cache", report_engine_energy=False)
    meter = process_meter()
    app = await start_app(settings, KernelSettings(nats_url=url, data_dir=work), store=store, meter=meter)
    client = InferenceClient(app.nc)
    await client.load("facts", ArtifactLocation(uri=stored.uri, sha256=stored.sha256))
    carbon = CarbonSettings(country_iso_code="FRA", pue=1.2, interval_seconds=1.0)
    reporter = engine_reporter(app.nc, meter, carbon)
    await reporter.start(MeteredSubject.engine(engine_id))
    deadline, sent = time.perf_counter() + seconds, itertools.count()

    async def keep_one_in_flight() -> None:  # a new request as soon as the previous one is answered
        while time.perf_counter() < deadline:
            await client.generate(request(next(sent)))

    await asyncio.gather(*(keep_one_in_flight() for _ in range(CONCURRENCY)))
    await reporter.stop()
    print(f"requests={next(sent)}")
    await app.close()


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["GREENTUNE_CARBON_PUE"] = "1.2"  # the service's request shares use the same PUE as the reporter
    url, engine_id, model_dir, seconds = sys.argv[1:5]
    asyncio.run(main(url, engine_id, model_dir, float(seconds)))
