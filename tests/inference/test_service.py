"""The inference service end to end: real vLLM engines on the tiny models, over a real nats-server.

Covers the issue's checks: greedy output equals transformers token for token, two adapters on one
base with their own answers (one added after start-up), streaming, batches, errors, events.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

from services.inference import protocol as wire
from services.inference.client import text_of
from services.inference.domain import (
    AdapterBaseMismatchError,
    CorruptModelError,
    InvalidRequestError,
    InvalidSamplingError,
    PromptTooLongError,
    SamplingSettings,
    UnknownAdapterError,
    UnknownModelError,
)
from services.runtime.rpc import Reply
from services.trainer.demo_facts import demo_facts, make_facts, question
from tests.inference.conftest import SECOND_ADAPTER_SEED, Service, engine_events

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

GREEDY = SamplingSettings(temperature=0.0, max_tokens=24)


def ask(key: str) -> tuple[wire.ChatMessage, ...]:
    return (wire.ChatMessage(role="user", content=question(key)),)


def request(
    model: str, key: str, adapter: str | None = None, sampling: SamplingSettings = GREEDY
) -> wire.GenerateRequest:
    return wire.GenerateRequest(model=model, adapter=adapter, messages=ask(key), sampling=sampling)


def reference_greedy(folder, cases):  # type: ignore[no-untyped-def]
    """transformers greedy decoding of each (prompt text or messages, min_tokens, max_tokens), float32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    out = []
    for prompt, min_tokens, max_tokens in cases:
        if isinstance(prompt, str):
            ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        else:
            text = tokenizer.apply_chat_template(
                [m.model_dump() for m in prompt], tokenize=False, add_generation_prompt=True
            )
            ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            generated = model.generate(
                ids,
                do_sample=False,
                max_new_tokens=max_tokens,
                min_new_tokens=min_tokens,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
        out.append(generated[0, ids.shape[1] :].tolist())
    return out


async def test_greedy_output_equals_transformers_token_for_token_on_ten_prompts(service: Service, tiny_finetuned_dir):
    facts = demo_facts()
    cases: list[tuple[object, int, int]] = [(ask(key), 0, 24) for key, _ in facts[:5]]
    cases += [(ask("zuzuzu"), 0, 24), (ask(facts[5][0]), 24, 24), (ask(facts[6][0]), 16, 32)]
    cases += [("The code word for zovobi is", 32, 32), ("Hello! How can I help", 20, 20)]
    expected = reference_greedy(tiny_finetuned_dir / "merged", cases)

    got = []
    for prompt, min_tokens, max_tokens in cases:
        sampling = SamplingSettings(temperature=0.0, min_tokens=min_tokens, max_tokens=max_tokens)
        text_or_messages = {"prompt": prompt} if isinstance(prompt, str) else {"messages": prompt}
        completion = await service.client.generate(
            wire.GenerateRequest(model="tiny-merged", sampling=sampling, **text_or_messages)
        )
        got.append(list(completion.token_ids))

    assert got == expected
    assert sum(map(len, got)) > 90  # long generations are compared, not only the 3-token answers
    answers = [(await service.client.generate(request("tiny-merged", key))).text for key, _ in facts[:5]]
    assert answers == [value for _, value in facts[:5]]


async def test_two_adapters_on_one_base_give_their_own_answers_and_a_new_one_needs_no_restart(service: Service):
    demo, second = demo_facts()[:20], make_facts(50, seed=SECOND_ADAPTER_SEED)[:20]
    engine = service.app.host.models["tiny"].engine

    await service.client.load("tiny", adapter="second", adapter_source=service.models.second_adapter)
    assert service.app.host.models["tiny"].engine is engine  # same engine: no restart

    async def exact(adapter: str | None, facts: list[tuple[str, str]]) -> float:
        answers = await asyncio.gather(*(service.client.generate(request("tiny", k, adapter)) for k, _ in facts))
        return sum(a.text == v for a, (_, v) in zip(answers, facts, strict=True)) / len(facts)

    scores = await asyncio.gather(
        exact("demo", demo), exact("second", second), exact("demo", second), exact("second", demo)
    )
    assert scores[0] >= 0.9 and scores[1] >= 0.9, scores  # each adapter knows its own facts
    assert scores[2] <= 0.1 and scores[3] <= 0.1, scores  # and not the other's
    assert await exact(None, demo) <= 0.1  # the base knows neither


async def test_stream_sends_its_first_chunk_before_generation_ends_and_chunks_add_up(service: Service):
    sampling = SamplingSettings(temperature=0.0, min_tokens=48, max_tokens=48)
    req = request("tiny", demo_facts()[3][0], "demo", sampling)
    whole = await service.client.generate(req)

    started = time.monotonic()
    arrivals, chunks = [], []
    async for chunk in service.client.stream(req):
        arrivals.append(time.monotonic() - started)
        chunks.append(chunk)

    end = chunks[-1]
    assert end.kind == "end" and end.completion is not None
    assert text_of(chunks) == whole.text and len(whole.text) > 0
    token_ids = tuple(t for c in chunks for t in c.token_ids)
    assert token_ids == whole.token_ids == end.completion.token_ids
    assert len(chunks) > 10  # tokens arrive as they are generated, not in one piece
    assert arrivals[0] < arrivals[-1]
    assert end.completion.time_to_first_token_ms < end.completion.latency_ms


async def test_batch_answers_equal_single_requests(service: Service):
    facts = demo_facts()[:32]
    batch = wire.BatchRequest(
        model="tiny", adapter="demo", sampling=GREEDY, inputs=[wire.PromptInput(messages=ask(k)) for k, _ in facts]
    )
    results = await service.client.batch(batch)
    singles = [await service.client.generate(request("tiny", k, "demo")) for k, _ in facts[:4]]
    assert [r.token_ids for r in results[:4]] == [s.token_ids for s in singles]
    assert sum(r.text == v for r, (_, v) in zip(results, facts, strict=True)) >= 29


async def test_stop_strings_and_eos_end_generation(service: Service):
    key, value = demo_facts()[0]
    plain = await service.client.generate(request("tiny", key, "demo"))
    assert plain.finish_reason == "stop" and plain.token_ids[-1] == 2  # EOS <|end|> (id 2) ended it
    cut = await service.client.generate(
        request("tiny", key, "demo", SamplingSettings(temperature=0.0, stop=(value[2:],)))
    )
    assert cut.text == value[:2] and cut.finish_reason == "stop"
    short = await service.client.generate(request("tiny", key, "demo", SamplingSettings(temperature=0.0, max_tokens=1)))
    assert short.completion_tokens == 1 and short.finish_reason == "length"


async def test_sampling_with_a_seed_is_reproducible_and_differs_from_greedy(service: Service):
    sampling = SamplingSettings(
        temperature=1.5,
        top_p=0.95,
        top_k=50,
        seed=11,
        max_tokens=24,
        min_tokens=24,
        presence_penalty=0.5,
        frequency_penalty=0.5,
    )
    req = wire.GenerateRequest(model="tiny", prompt="The code word", sampling=sampling)
    first, second = await service.client.generate(req), await service.client.generate(req)
    greedy = await service.client.generate(
        req.model_copy(update={"sampling": SamplingSettings(temperature=0, max_tokens=24, min_tokens=24)})
    )
    assert first.token_ids == second.token_ids
    assert first.token_ids != greedy.token_ids


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        ({"model": "nope", "prompt": "hi"}, UnknownModelError, "model 'nope' is not loaded"),
        ({"model": "tiny", "adapter": "nope", "prompt": "hi"}, UnknownAdapterError, "adapter 'nope' is unknown"),
        ({"model": "tiny-merged", "adapter": "demo", "prompt": "hi"}, AdapterBaseMismatchError, "trained on 'tiny'"),
        ({"model": "tiny", "prompt": "zo " * 300}, PromptTooLongError, "context of 256 tokens"),
        ({"model": "tiny", "prompt": "hi", "sampling": {"max_tokens": 300}}, PromptTooLongError, "lower max_tokens"),
        (
            {"model": "tiny", "prompt": "hi", "sampling": {"temperature": -1}},
            InvalidSamplingError,
            "sampling.temperature",
        ),
        ({"model": "tiny", "prompt": "hi", "sampling": {"top_p": 0}}, InvalidSamplingError, "sampling.top_p"),
        ({"model": "tiny", "prompt": "hi", "sampling": {"stop": [""]}}, InvalidSamplingError, "stop strings"),
        (
            {"model": "tiny", "prompt": "hi", "messages": [{"role": "user", "content": "x"}]},
            InvalidRequestError,
            "exactly one",
        ),
    ],
)
async def test_bad_requests_get_a_clear_error_and_the_service_keeps_serving(service: Service, body, error, words):
    import json

    raw = await service.nc.request(wire.GENERATE, json.dumps(body).encode(), timeout=60)
    reply = Reply[None].model_validate_json(raw.data)
    assert reply.ok is False and reply.error is not None
    assert (reply.error.code, reply.error.status) == (error.code, error.status)
    assert words in reply.error.detail, reply.error.detail
    assert (await service.client.generate(request("tiny", demo_facts()[0][0], "demo"))).text == demo_facts()[0][1]


async def test_a_load_with_a_wrong_hash_is_refused_as_corrupt_and_nothing_is_served(service: Service):
    wrong = wire.ArtifactLocation(uri=service.models.merged.uri, sha256="0" * 64)
    with pytest.raises(CorruptModelError, match="refusing to load models/finetuned/job-demo/merged_16bit"):
        await service.client.load("tiny-tampered", wrong)
    assert "tiny-tampered" not in service.app.host.models


async def test_the_cli_chat_streams_an_answer_from_the_service(service: Service, shared_nats):
    key, value = demo_facts()[2]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        "inference",
        "chat",
        "tiny",
        "--adapter",
        "demo",
        "--prompt",
        question(key),
        env={**os.environ, "GREENTUNE_NATS_URL": shared_nats.url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    assert out.decode().strip() == value


async def test_every_request_is_recorded_once_with_its_tokens_and_energy_share(service: Service):
    key, _ = demo_facts()[1]
    tagged = request("tiny", key, "demo").model_copy(update={"request_id": "energy-check-1"})
    completion = await service.client.generate(tagged)
    events = await engine_events(service.nc, service.settings.engine_id, "InferenceCompleted", 1)
    mine = [e for e in events if e.event.request_id == "energy-check-1"]
    assert len(mine) == 1
    event = mine[0].event
    assert (event.model, event.adapter, event.mode, event.finish_reason) == ("tiny", "demo", "generate", "stop")
    assert event.prompt_tokens == completion.prompt_tokens and event.completion_tokens == completion.completion_tokens
    # Alone on the engine: the meter is read when it starts (closing the idle interval before it) and
    # when it ends, and this request processed every token in between, so it gets that whole step.
    assert event.energy_kwh == pytest.approx(service.meter.step_kwh)
