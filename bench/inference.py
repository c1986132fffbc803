"""Inference benchmark: the service's batch path against the same prompts one by one, and against
vLLM called in-process on the same batch; plus time to first token of streams. Same run, same model.

    python bench/inference.py [--rounds 7] [--prompts 64] [--tokens 32]

The service runs as its own process (`python -m services.inference.app`, CodeCarbon meter on)
against a private nats-server; the in-process baseline is an AsyncLLM built with the service's
own engine arguments. Every prompt generates exactly `--tokens` tokens (min = max), so each side
does the same work. Rounds interleave A and B; ratios are medians of per-round ratios. Targets:
batch_vs_sequential >= 4, service_vs_inprocess >= 0.85. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from services.inference import protocol as rpc
from services.inference.adapters.vllm_engine import engine_args, engine_environment
from services.inference.client import InferenceClient
from services.inference.config import InferenceSettings
from services.inference.domain import SamplingSettings
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.jetstream import connect
from services.runtime.nats_server import NatsServer
from services.trainer.demo_facts import demo_facts, question
from tests.harness.models import tiny_finetuned

MODEL = "tiny-merged"


def prompts(n: int) -> list[rpc.PromptInput]:
    return [rpc.PromptInput(messages=(rpc.ChatMessage(role="user", content=question(k)),)) for k, _ in demo_facts()[:n]]


def start_service(nats_url: str, work: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GREENTUNE_NATS_URL": nats_url,
        "GREENTUNE_DATA_DIR": str(work / "data"),
        "GREENTUNE_ARTIFACTS_ROOT": str(work / "artifacts"),
        "GREENTUNE_INFERENCE_CACHE_DIR": str(work / "cache"),
        "GREENTUNE_LOG_LEVEL": "warning",
    }
    log = open(work / "service.log", "wb")  # noqa: SIM115  # the child's lifetime
    return subprocess.Popen([sys.executable, "-m", "services.inference.app"], env=env, stdout=log, stderr=log)


async def in_process_engine(folder: Path) -> Any:
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.v1.engine.async_llm import AsyncLLM

    os.environ.update(engine_environment(InferenceSettings()))  # the same threading as the service's engines
    return await asyncio.to_thread(
        AsyncLLM.from_engine_args, AsyncEngineArgs(**engine_args(InferenceSettings(), folder))
    )


async def in_process_batch(llm: Any, inputs: list[rpc.PromptInput], tokens: int, tag: str) -> float:
    """The same chat prompts straight into AsyncLLM: rendered and tokenized here, as the service does."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    params = SamplingParams(temperature=0.0, min_tokens=tokens, max_tokens=tokens)
    tokenizer = llm.get_tokenizer()

    async def one(i: int, prompt: rpc.PromptInput) -> int:
        messages = [m.model_dump() for m in prompt.messages or ()]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tokenizer.encode(text, add_special_tokens=False)
        made = 0
        async for out in llm.generate(TokensPrompt(prompt_token_ids=ids), params, request_id=f"{tag}-{i}"):
            made = len(out.outputs[0].token_ids)
        return made

    started = time.perf_counter()
    made = await asyncio.gather(*(one(i, p) for i, p in enumerate(inputs)))
    assert sum(made) == tokens * len(inputs)
    return time.perf_counter() - started


async def timed(work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work
    return time.perf_counter() - started, result


async def service_sequential(
    client: InferenceClient, inputs: list[rpc.PromptInput], sampling: SamplingSettings
) -> float:
    started = time.perf_counter()
    for prompt in inputs:
        await client.generate(rpc.GenerateRequest(model=MODEL, sampling=sampling, messages=prompt.messages))
    return time.perf_counter() - started


async def first_token_ms(client: InferenceClient, prompt: rpc.PromptInput, sampling: SamplingSettings) -> float:
    started = time.perf_counter()
    first = None
    async for chunk in client.stream(rpc.GenerateRequest(model=MODEL, sampling=sampling, messages=prompt.messages)):
        if first is None and chunk.kind == "chunk":
            first = (time.perf_counter() - started) * 1000.0
    assert first is not None
    return first


async def run(rounds: int, n: int, tokens: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="greentune-bench-inference-"))
    merged = tiny_finetuned() / "merged"
    stored = LocalArtifactStore(work / "artifacts").put_folder("models/finetuned/job-bench/merged_16bit", merged)
    server = NatsServer(store_dir=work / "nats").start()
    service = start_service(server.url, work)
    nc = await connect(server.url, "bench")
    try:
        client = InferenceClient(nc)
        await wait_for_service(client, stored.uri, stored.sha256, service)
        llm = await in_process_engine(merged)
        try:
            return await measure(client, llm, prompts(n), rounds, tokens)
        finally:
            llm.shutdown()
    finally:
        await nc.close()
        service.terminate()
        service.wait(60)
        server.stop()


async def wait_for_service(client: InferenceClient, uri: str, sha256: str, service: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            await client.load(MODEL, rpc.ArtifactLocation(uri=uri, sha256=sha256))
            return
        except Exception:
            if service.poll() is not None or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def measure(
    client: InferenceClient, llm: Any, inputs: list[rpc.PromptInput], rounds: int, tokens: int
) -> dict[str, Any]:
    sampling = SamplingSettings(temperature=0.0, min_tokens=tokens, max_tokens=tokens)
    batch = rpc.BatchRequest(model=MODEL, sampling=sampling, inputs=inputs)
    await client.batch(batch)  # warm-up, both sides
    await in_process_batch(llm, inputs, tokens, "warm")
    rows: list[dict[str, float]] = []
    for r in range(rounds):
        row: dict[str, float] = {}
        order = ["service", "inprocess"] if r % 2 == 0 else ["inprocess", "service"]
        for side in order:
            if side == "service":
                row["service_batch_s"], results = await timed(client.batch(batch))
                assert sum(c.completion_tokens for c in results) == tokens * len(inputs)
            else:
                row["inprocess_batch_s"] = await in_process_batch(llm, inputs, tokens, f"r{r}")
        row["sequential_s"] = await service_sequential(client, inputs, sampling)
        rows.append(row)
    ttft = [await first_token_ms(client, p, sampling) for p in inputs[:32] for _ in range(max(1, rounds // 3))]
    return summarize(rows, ttft, len(inputs) * tokens)


def summarize(rows: list[dict[str, float]], ttft: list[float], tokens: int) -> dict[str, Any]:
    median = statistics.median
    quantiles = statistics.quantiles(ttft, n=20)
    print(f"{'round':>5} {'service batch s':>16} {'in-process s':>13} {'sequential s':>13}")
    for i, row in enumerate(rows):
        print(f"{i:>5} {row['service_batch_s']:>16.3f} {row['inprocess_batch_s']:>13.3f} {row['sequential_s']:>13.3f}")
    print(
        f"tokens per batch: {tokens}; service batch {tokens / median(r['service_batch_s'] for r in rows):,.0f} tok/s, "
        f"in-process {tokens / median(r['inprocess_batch_s'] for r in rows):,.0f} tok/s, "
        f"sequential {tokens / median(r['sequential_s'] for r in rows):,.0f} tok/s"
    )
    result = {
        "batch_vs_sequential": round(median(r["sequential_s"] / r["service_batch_s"] for r in rows), 2),
        "service_vs_inprocess": round(median(r["inprocess_batch_s"] / r["service_batch_s"] for r in rows), 3),
        "ttft_p50_ms": round(median(ttft), 1),
        "ttft_p95_ms": round(quantiles[18], 1),
    }
    print(
        f"time to first token over {len(ttft)} streams, one at a time: p50 {result['ttft_p50_ms']} ms, "
        f"p95 {result['ttft_p95_ms']} ms"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=32)
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds, args.prompts, args.tokens))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
