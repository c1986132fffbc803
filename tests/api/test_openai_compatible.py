"""The OpenAI-compatible `/v1`, driven by the official `openai` client against the gateway in front
of the real inference service: the same answers as the service itself, streaming, batches of
prompts, adapters as model ids, API keys recorded as the actor, and OpenAI-shaped errors."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.inference import protocol as wire
from services.inference.domain import SamplingSettings
from services.trainer.demo_facts import demo_facts, question
from tests.api.conftest import API_KEY, InferenceGateway, serving, wait_for_key
from tests.api.keys import publish_key
from tests.inference.conftest import engine_events

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def client(gateway: InferenceGateway, key: str = API_KEY) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def ask(k: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": question(demo_facts()[k][0])}]


async def test_models_lists_each_loaded_model_and_each_adapter_as_model_colon_adapter(gateway: InferenceGateway):
    listed = {m.id for m in (await client(gateway).models.list()).data}
    assert {"tiny", "tiny:demo", "tiny-merged"} <= listed


async def test_chat_answers_equal_the_services_own_greedy_answers_and_the_adapter_knows_the_facts(
    gateway: InferenceGateway,
):
    api = client(gateway)
    right = 0
    for k in range(5):
        answer = await api.chat.completions.create(model="tiny:demo", messages=ask(k), temperature=0, max_tokens=8)
        direct = await gateway.inference.client.generate(
            wire.GenerateRequest(
                model="tiny",
                adapter="demo",
                messages=tuple(wire.ChatMessage(**m) for m in ask(k)),
                sampling=SamplingSettings(temperature=0, max_tokens=8),
            )
        )
        choice = answer.choices[0]
        assert choice.message.role == "assistant" and choice.message.content == direct.text
        assert choice.finish_reason == "stop"
        assert answer.usage is not None
        assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (
            direct.prompt_tokens,
            direct.completion_tokens,
        )
        right += direct.text.strip() == demo_facts()[k][1]
    assert right >= 4, "the demo adapter answers its trained facts through the API"


async def test_a_streamed_chat_adds_up_to_the_whole_answer_and_ends_with_reason_and_usage(gateway: InferenceGateway):
    api = client(gateway)
    whole = await api.chat.completions.create(model="tiny-merged", messages=ask(2), temperature=0, max_tokens=12)
    stream = await api.chat.completions.create(
        model="tiny-merged",
        messages=ask(2),
        temperature=0,
        max_tokens=12,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert len({c.id for c in chunks}) == 1
    last, counted = chunks[-1], ("prompt_tokens", "completion_tokens", "total_tokens")
    assert last.choices == [] and last.usage is not None and whole.usage is not None
    assert [getattr(last.usage, k) for k in counted] == [getattr(whole.usage, k) for k in counted]
    assert last.usage.model_dump()["energy_kwh"] > 0, "the streamed request's own energy share"


async def test_a_list_of_prompts_is_answered_as_one_batch_in_order(gateway: InferenceGateway):
    api = client(gateway)
    prompts = ["The code word for", "Paris is", "One two three", "hello"]
    batch = await api.completions.create(model="tiny-merged", prompt=prompts, temperature=0, max_tokens=6)
    assert [c.index for c in batch.choices] == [0, 1, 2, 3]
    for prompt, choice in zip(prompts, batch.choices, strict=True):
        single = await api.completions.create(model="tiny-merged", prompt=prompt, temperature=0, max_tokens=6)
        assert choice.text == single.choices[0].text
    assert batch.usage is not None and batch.usage.completion_tokens > 0


async def test_the_api_key_is_recorded_as_the_actor_of_the_inference_event_whose_energy_usage_reports(
    gateway: InferenceGateway,
):
    answer = await client(gateway).chat.completions.create(model="tiny:demo", messages=ask(3), max_tokens=4)
    events = await engine_events(gateway.inference.nc, gateway.inference.settings.engine_id, "InferenceCompleted", 1)
    mine = [e for e in events if e.event.request_id == answer.id]
    assert len(mine) == 1
    assert (mine[0].actor.kind, mine[0].actor.id) == ("api_key", "tester")
    usage = answer.usage.model_dump() if answer.usage else {}  # the extra fields ride along in the client's model
    assert mine[0].event.energy_kwh and usage["energy_kwh"] == pytest.approx(mine[0].event.energy_kwh, rel=1e-9)
    assert "metered" in usage["energy_method"]


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        ({"model": "no-such-model"}, openai.NotFoundError, "no-such-model"),
        ({"model": "tiny:no-such-adapter"}, openai.NotFoundError, "no-such-adapter"),
        ({"model": "tiny", "temperature": -1}, openai.BadRequestError, "temperature"),
        ({"model": "tiny", "top_p": 0}, openai.BadRequestError, "top_p"),
        ({"model": "tiny", "n": 2}, openai.BadRequestError, "only n=1"),
        ({"model": "tiny", "max_tokens": 100_000}, openai.BadRequestError, "context"),
        ({"model": "tiny", "messages": []}, openai.BadRequestError, "messages"),
    ],
)
async def test_bad_requests_get_openai_shaped_errors_naming_the_problem(gateway: InferenceGateway, call, error, words):
    request = {"messages": ask(0), "max_tokens": 4, **call}
    with pytest.raises(error) as raised:
        await client(gateway).chat.completions.create(**request)
    body = raised.value.body
    assert isinstance(body, dict) and words in body["message"] and body["code"]


async def test_a_streamed_request_for_an_unknown_model_fails_before_any_event_is_sent(gateway: InferenceGateway):
    with pytest.raises(openai.NotFoundError, match="no-such-model"):
        await client(gateway).chat.completions.create(model="no-such-model", messages=ask(0), stream=True)


async def test_a_missing_or_wrong_api_key_is_refused(gateway: InferenceGateway):
    with pytest.raises(openai.AuthenticationError, match="invalid or revoked API key"):
        await client(gateway, key="sk-wrong").models.list()
    async with httpx.AsyncClient() as http:
        refused = await http.get(f"{gateway.url}/v1/models")
        healthy = await http.get(f"{gateway.url}/healthz")
    assert refused.status_code == 401 and "Authorization: Bearer" in refused.json()["error"]["message"]
    assert healthy.status_code == 200 and healthy.json() == {"nats": "connected", "overview": "caught_up"}


async def test_a_request_over_the_keys_concurrency_cap_gets_429_with_retry_after(
    gateway: InferenceGateway, shared_nats
):  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        serving(shared_nats.url, max_concurrent_per_key=1) as url,
        httpx.AsyncClient(base_url=url, headers=auth, timeout=120) as http,
    ):
        body = {"model": "tiny:demo", "messages": ask(1), "max_tokens": 8}
        # sent together: the first to arrive holds the key's only slot while the engine generates
        at_once = await asyncio.gather(*(http.post("/v1/chat/completions", json=body) for _ in range(3)))
        after = await http.post("/v1/chat/completions", json=body)
    assert sorted(r.status_code for r in at_once) == [200, 429, 429], [r.text for r in at_once]
    refused = next(r for r in at_once if r.status_code == 429)
    assert refused.headers["retry-after"] == "1" and refused.json()["error"]["code"] == "too_many_requests"
    assert "GREENTUNE_API_MAX_CONCURRENT_PER_KEY" in refused.json()["error"]["message"]
    assert after.status_code == 200, "the slot is free again once the answer was sent"


async def test_a_version_loaded_for_one_tenant_is_unknown_to_another_tenants_key(gateway: InferenceGateway):
    acme, beta = "sk-gt-tenant-acme", "sk-gt-tenant-beta"
    for secret, tenant in ((acme, "acme"), (beta, "beta")):
        await publish_key(gateway.inference.nc, secret, f"member-{tenant}", role="member", tenant=tenant)
    await wait_for_key(gateway.url, beta)
    models = gateway.inference.models
    await gateway.inference.client.load("tiny", adapter="acme-v1", adapter_source=models.second_adapter, owner="acme")
    chat = {"model": "tiny:acme-v1", "messages": ask(0), "max_tokens": 4}
    answered = await client(gateway, acme).chat.completions.create(**chat)  # type: ignore[call-overload]
    assert answered.choices[0].message.content
    with pytest.raises(openai.NotFoundError, match="no adapter 'acme-v1'"):
        await client(gateway, beta).chat.completions.create(**chat)  # type: ignore[call-overload]
    with pytest.raises(openai.NotFoundError, match="no adapter 'acme-v1'"):
        await client(gateway, beta).completions.create(model="tiny:acme-v1", prompt="Hi", max_tokens=4)
    seen = {m.id for m in (await client(gateway, beta).models.list()).data}
    assert "tiny:acme-v1" not in seen and "tiny:demo" in seen  # the shared ones stay listed
    assert "tiny:acme-v1" in {m.id for m in (await client(gateway, acme).models.list()).data}
    assert "tiny:acme-v1" in {m.id for m in (await client(gateway).models.list()).data}  # the admin sees all


async def test_a_key_over_its_requests_per_minute_gets_429_with_the_seconds_to_wait(
    gateway: InferenceGateway, shared_nats
):  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        serving(shared_nats.url, max_requests_per_minute_per_key=2) as url,
        httpx.AsyncClient(base_url=url, headers=auth, timeout=120) as http,
    ):
        body = {"model": "tiny:demo", "messages": ask(1), "max_tokens": 2}
        answers = [await http.post("/v1/chat/completions", json=body) for _ in range(3)]
        listed = await http.get("/v1/models")  # reads are not limited
    assert [r.status_code for r in answers] == [200, 200, 429], [r.text for r in answers]
    refused = answers[2]
    assert 1 <= int(refused.headers["retry-after"]) <= 60 and refused.json()["error"]["code"] == "rate_limited"
    assert "GREENTUNE_API_MAX_REQUESTS_PER_MINUTE_PER_KEY" in refused.json()["error"]["message"]
    assert listed.status_code == 200


async def test_metrics_show_the_chats_latency_tokens_and_energy_and_the_grafana_board_reads_only_those(
    gateway: InferenceGateway,
):
    api = client(gateway)
    await api.chat.completions.create(model="tiny:demo", messages=ask(4), max_tokens=4)
    await api.models.list()
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {API_KEY}"})
        await publish_key(gateway.inference.nc, "sk-gt-metrics-member", "metrics-member", role="member")
        await wait_for_key(gateway.url, "sk-gt-metrics-member")
        member = await http.get("/metrics", headers={"Authorization": "Bearer sk-gt-metrics-member"})
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain"), scraped.text
    assert member.status_code == 403, "metrics are for admin keys"
    families = {f.name: f for f in text_string_to_metric_families(scraped.text)}

    def value(family: str, sample: str, **labels: str) -> float:
        found = [s.value for s in families[family].samples if s.name == sample and labels.items() <= s.labels.items()]
        assert found, (sample, labels, [s for s in families[family].samples][:5])
        return float(sum(found))

    mine = {"model": "tiny:demo", "api_key": "tester"}
    assert value("greentune_inference_latency_seconds", "greentune_inference_latency_seconds_count", **mine) >= 1
    assert value("greentune_inference_ttft_seconds", "greentune_inference_ttft_seconds_count", **mine) >= 1
    assert value("greentune_output_tokens", "greentune_output_tokens_total", **mine) >= 1
    assert value("greentune_inference_energy_kwh", "greentune_inference_energy_kwh_total", **mine) > 0
    assert value("greentune_http_requests", "greentune_http_requests_total", handler="/v1/chat/completions") >= 1
    assert "greentune_jobs" in families and "greentune_job_energy_kwh" in families

    board = json.loads((REPO / "infra" / "grafana" / "greentune.json").read_text())
    used = {
        name for panel in board["panels"] for t in panel["targets"] for name in re.findall(r"greentune_\w+", t["expr"])
    }
    exported = {s.name for f in families.values() for s in f.samples} | set(families)
    assert used and used <= exported, f"the board reads metrics /metrics does not export: {used - exported}"
