"""Engines coming and going: aborted streams, a killed engine, LRU eviction and idle unload.

One service with room for a single model and a 4-second idle limit; the tests run in order and
each loads what it needs.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import psutil
import pytest
import pytest_asyncio

from services.inference import protocol as wire
from services.inference.domain import EngineFailedError, SamplingSettings
from services.trainer.demo_facts import demo_facts, question
from tests.inference.conftest import Service, engine_events, serving_tiny

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

IDLE_SECONDS = 4.0
LONG = SamplingSettings(temperature=0.0, min_tokens=200, max_tokens=200)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def single(shared_nats, stored_models, tmp_path_factory) -> AsyncIterator[Service]:  # type: ignore[no-untyped-def]
    cache = tmp_path_factory.mktemp("cache")
    overrides = {"max_loaded_models": 1, "idle_unload_seconds": IDLE_SECONDS}
    async with serving_tiny(shared_nats.url, stored_models, cache, "inference-lifecycle-tests", **overrides) as running:
        yield running


def long_request(request_id: str) -> wire.GenerateRequest:
    messages = (wire.ChatMessage(role="user", content=question(demo_facts()[0][0])),)
    return wire.GenerateRequest(model="tiny", adapter="demo", messages=messages, sampling=LONG, request_id=request_id)


async def completed(service: Service, request_id: str):  # type: ignore[no-untyped-def]
    async with asyncio.timeout(30):
        while True:
            events = await engine_events(service.nc, service.settings.engine_id, "InferenceCompleted", 1)
            if mine := [e.event for e in events if e.event.request_id == request_id]:
                return mine
            await asyncio.sleep(0.2)


async def test_a_stream_is_aborted_when_its_caller_goes_away(single: Service):
    received = 0
    async for chunk in single.client.stream(long_request("abandoned-1")):
        received += chunk.kind == "chunk"
        if received == 3:
            break  # the caller leaves: its inbox subscription is gone

    (event,) = await completed(single, "abandoned-1")
    assert event.finish_reason == "aborted"
    assert 3 <= event.completion_tokens < 200
    assert (await single.client.generate(long_request("after-abandon"))).completion_tokens == 200


async def test_a_killed_engine_fails_its_request_clearly_and_the_next_one_is_served(single: Service):
    engine = single.app.host.models["tiny"].engine
    workers = [p for p in psutil.Process().children(recursive=True) if "VLLM::Worker" in p.name()]
    assert len(workers) == 1

    with pytest.raises(EngineFailedError, match="restarted on the next request"):
        async for chunk in single.client.stream(long_request("killed-1")):
            if chunk.kind == "chunk" and chunk.index == 2:
                os.kill(workers[0].pid, signal.SIGKILL)  # what the kernel's OOM killer does

    (event,) = await completed(single, "killed-1")
    assert event.finish_reason == "error"
    unloaded = await engine_events(single.nc, single.settings.engine_id, "ModelUnloaded", 1)
    assert [(e.event.model, e.event.reason) for e in unloaded] == [("tiny", "failed")]
    key, value = demo_facts()[0]
    again = wire.GenerateRequest(
        model="tiny",
        adapter="demo",
        messages=(wire.ChatMessage(role="user", content=question(key)),),
        sampling=SamplingSettings(temperature=0.0),
    )
    assert (await single.client.generate(again)).text == value  # reloaded from the catalogue, adapter too
    assert single.app.host.models["tiny"].engine is not engine


async def test_the_least_recently_used_model_makes_room_and_an_idle_one_is_unloaded(single: Service):
    await single.client.load("tiny-merged", single.models.merged)
    assert list(single.app.host.models) == ["tiny-merged"]
    prompt = wire.GenerateRequest(model="tiny-merged", prompt="The code word", sampling=SamplingSettings(max_tokens=4))
    assert (await single.client.generate(prompt)).completion_tokens >= 1

    async with asyncio.timeout(IDLE_SECONDS * 5):
        while single.app.host.models:
            await asyncio.sleep(0.2)

    unloaded = await engine_events(single.nc, single.settings.engine_id, "ModelUnloaded", 3)
    reasons = [(e.event.model, e.event.reason) for e in unloaded]
    assert reasons == [("tiny", "failed"), ("tiny", "evicted"), ("tiny-merged", "idle")]
    loaded = await engine_events(single.nc, single.settings.engine_id, "ModelLoaded", 5)
    assert [(e.event.model, e.event.adapter) for e in loaded] == [
        ("tiny", None),
        ("tiny", "demo"),
        ("tiny", None),
        ("tiny", "demo"),
        ("tiny-merged", None),
    ]
    device = f"({single.settings.device}, {single.settings.engine_dtype})"
    assert all(e.event.engine.startswith("vllm") and e.event.engine.endswith(device) for e in loaded)
