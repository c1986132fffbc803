"""`/api/v1/models` over the real inference service: a version the registry catalogued is listed
with its lineage, served on request as an adapter on its base, and then answers on `/v1` what it
was fine-tuned on."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import openai
import pytest

from contracts import Actor, Envelope
from contracts.events.models import ArtifactRef, BaseModelRegistered, ModelRegistered
from services.runtime.jetstream import connect
from services.runtime.publisher import EventPublisher
from services.trainer.demo_facts import demo_facts, question
from tests.api.conftest import API_KEY, InferenceGateway

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SYSTEM = Actor(kind="system", id="tests")


async def catalogue(gateway: InferenceGateway, nats_url: str) -> str:
    """Publish what the trainer and the registry would: the base `tiny` and version 1 of a model
    whose LoRA export is the demo adapter. Returns the model's (unique) name."""
    models = gateway.inference.models
    name = f"facts-{uuid.uuid4().hex[:8]}"
    base = BaseModelRegistered(
        name="tiny", uri=models.base.uri or "", sha256=models.base.sha256, size_bytes=1, source="tests",
        architecture="LlamaForCausalLM", parameters=1,
    )  # fmt: skip
    lora = ArtifactRef(kind="lora", uri=models.demo_adapter.uri or "", size_bytes=1, sha256=models.demo_adapter.sha256)
    version = ModelRegistered(
        name=name, model_version=1, job_id="job-demo", base_model="tiny", dataset_id="demo", artifacts=(lora,)
    )
    nc = await connect(nats_url, "models-api-tests")
    try:
        publisher = EventPublisher(nc)
        await publisher.publish(Envelope.new(base, producer="trainer", aggregate_id="tiny", actor=SYSTEM))
        await publisher.publish(Envelope.new(version, producer="registry", aggregate_id=name, actor=SYSTEM))
    finally:
        await nc.close()
    return name


async def listed(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            rows = [m for m in (await client.get("/models")).json()["models"] if m["name"] == name]
            if rows:
                return rows[0]
            await asyncio.sleep(0.2)


async def test_a_catalogued_version_is_served_on_request_and_answers_its_facts(gateway: InferenceGateway, shared_nats):  # type: ignore[no-untyped-def]
    name = await catalogue(gateway, shared_nats.url)
    async with httpx.AsyncClient(base_url=f"{gateway.url}/api/v1", headers=AUTH, timeout=300) as client:
        row = await listed(client, name)
        served = await client.post(f"/models/{name}/versions/1/serve")
        unknown = await client.post(f"/models/{name}/versions/9/serve")
    assert (row["version"], row["base_model"], row["job_id"], row["dataset_id"]) == (1, "tiny", "job-demo", "demo")
    assert served.status_code == 200, served.text
    model_id = served.json()["model"]
    assert model_id == f"tiny:{name}-v1"
    assert unknown.status_code == 404 and "version 9" in unknown.json()["error"]["message"]

    api = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=API_KEY, max_retries=0)
    assert model_id in {m.id for m in (await api.models.list()).data}
    right = 0
    for key, fact in demo_facts()[:5]:
        answer = await api.chat.completions.create(
            model=model_id, messages=[{"role": "user", "content": question(key)}], temperature=0, max_tokens=8
        )
        right += (answer.choices[0].message.content or "").strip() == fact
    assert right >= 4, "the served version answers the facts its adapter was trained on"
