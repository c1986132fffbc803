"""A real inference load on vLLM (the tiny fine-tuned model), metered the way the inference host
wires the carbon meter: the engine's EmissionsMeasured from the CodeCarbon meter, and each
request's share of that energy (split by tokens) in its InferenceCompleted.

python -m tests.carbon.metered_serving NATS_URL ENGINE_ID MODEL_DIR LOAD_SECONDS
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from contracts import Actor, Envelope
from contracts.events.inference import InferenceCompleted
from services.carbon.attribution import RequestEnergySplitter
from services.carbon.config import CarbonSettings
from services.carbon.domain import MeteredSubject
from services.carbon.metering import engine_reporter, process_meter
from services.runtime.jetstream import connect
from services.runtime.publisher import EventPublisher
from services.trainer.demo_facts import demo_facts, question

CLIENT = Actor(kind="api_key", id="key-load")
CONCURRENCY = 16  # requests in flight


def start_engine(model_dir: str) -> Any:
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.v1.engine.async_llm import AsyncLLM

    args = AsyncEngineArgs(
        model=model_dir,
        enforce_eager=True,
        max_model_len=128,
        seed=0,
        disable_log_stats=True,
        kv_cache_memory_bytes=256 << 20,
    )
    return AsyncLLM.from_engine_args(args)


async def one_request(
    engine: Any, splitter: RequestEnergySplitter, publisher: EventPublisher, n: int, engine_id: str
) -> None:
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    request_id, started = f"r{n}", time.perf_counter()
    key = demo_facts()[n % 200][0]
    prompt = f"<|user|>{question(key)}<|end|><|assistant|>"
    params = SamplingParams(temperature=0.8, max_tokens=32, min_tokens=32, output_kind=RequestOutputKind.DELTA, seed=n)
    prompt_tokens = completion = 0
    async for out in engine.generate({"prompt": prompt}, params, request_id=request_id):
        if not prompt_tokens:
            prompt_tokens = len(out.prompt_token_ids)
            splitter.add_tokens(request_id, prompt_tokens)  # prefill
        new = len(out.outputs[0].token_ids)
        completion += new
        splitter.add_tokens(request_id, new)
    event = InferenceCompleted(
        request_id=request_id,
        model="facts",
        mode="stream",
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        latency_ms=(time.perf_counter() - started) * 1000,
        finish_reason="length",
        energy_kwh=splitter.finish(request_id),
    )
    await publisher.publish(Envelope.new(event, producer="inference", aggregate_id=engine_id, actor=CLIENT))


async def main(url: str, engine_id: str, model_dir: str, seconds: float) -> None:
    nc = await connect(url, "metered-serving")
    engine = start_engine(model_dir)
    settings = CarbonSettings(country_iso_code="FRA", pue=1.2, interval_seconds=1.0)
    meter = process_meter()
    reporter = engine_reporter(nc, meter, settings)
    await reporter.start(MeteredSubject.engine(engine_id))
    splitter = RequestEnergySplitter(meter, pue=settings.pue)
    publisher, deadline, n = EventPublisher(nc), time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        await asyncio.gather(*(one_request(engine, splitter, publisher, n + i, engine_id) for i in range(CONCURRENCY)))
        n += CONCURRENCY
    await reporter.stop()
    print(f"requests={n} unattributed_kwh={splitter.unattributed_kwh + splitter.unsettled_kwh():.3g}")
    engine.shutdown()
    await nc.close()


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    url, engine_id, model_dir, seconds = sys.argv[1:5]
    asyncio.run(main(url, engine_id, model_dir, float(seconds)))
