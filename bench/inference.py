"""Inference benchmark: the service's batch path against the same prompts one by one, and against
vLLM called in-process on the same batch; time to first token of streams; and batch-1 decode of
SmolLM2 against the machine's memory bandwidth. Same run.

    python bench/inference.py [--rounds 7] [--prompts 64] [--tokens 32] [--decode-streams 8] [--decode-tokens 64]

The service runs as its own process (`python -m services.inference.app`, CodeCarbon meter on)
against a private nats-server; the in-process baseline is an AsyncLLM built with the service's
own engine arguments. Every prompt generates exactly `--tokens` tokens (min = max), so each side
does the same work. Rounds interleave A and B; ratios are medians of per-round ratios. Targets:
batch_vs_sequential >= 4, service_vs_inprocess >= 0.85.

Decode (SmolLM2-135M-Instruct, and with the demo's rank-16 LoRA adapter on it): an engine built with
the service's own settings at each dtype the CPU has kernels for (float32, the CPU default; bfloat16
where the CPU has AVX-512 BF16), one stream at a time, greedy, exactly --decode-tokens tokens;
tokens/s counted after the first token (the prefill excluded). decode_bw_fraction = weight bytes
read per token (every block's attention and MLP weights and the LM head, plus the adapter's A and B
for LoRA, at the dtype's width; the KV cache, under 3 MB here, left out) x tokens/s / the bandwidth
of a 1 GiB tensor copy (bytes read + written) on the engine's threads, measured in this process.
Target >= 0.6 on the base model. Ends with one JSON line.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.machine import copy_bandwidth, lora_parameters, path_parameters
from bench.servers import load_until_ready, start_inference_service, stop
from services.inference import protocol as wire
from services.inference.adapters.vllm_engine import engine_args, engine_environment
from services.inference.client import InferenceClient
from services.inference.config import InferenceSettings
from services.inference.domain import SamplingSettings
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.cpu_features import parse_cpuinfo
from services.runtime.jetstream import connect
from services.runtime.nats_server import NatsServer
from services.trainer.demo_facts import demo_facts, question
from tests.harness.models import smollm2_finetuned, tiny_finetuned

MODEL = "tiny-merged"
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def prompts(n: int) -> list[wire.PromptInput]:
    return [
        wire.PromptInput(messages=(wire.ChatMessage(role="user", content=question(k)),)) for k, _ in demo_facts()[:n]
    ]


async def in_process_engine(folder: Path, settings: InferenceSettings, adapters: Sequence[Path] = ()) -> Any:
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.v1.engine.async_llm import AsyncLLM

    os.environ.update(engine_environment(settings))  # the same threading as the service's engines
    args = AsyncEngineArgs(**engine_args(settings, folder, adapters))
    return await asyncio.to_thread(AsyncLLM.from_engine_args, args)


def chat_ids(tokenizer: Any, prompt: wire.PromptInput) -> list[int]:
    """A chat prompt rendered and tokenized here, as the service does."""
    messages = [m.model_dump() for m in prompt.messages or ()]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(tokenizer.encode(text, add_special_tokens=False))


async def in_process_batch(llm: Any, inputs: list[wire.PromptInput], tokens: int, tag: str) -> float:
    """The same chat prompts straight into AsyncLLM: rendered and tokenized here, as the service does."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    params = SamplingParams(temperature=0.0, min_tokens=tokens, max_tokens=tokens)
    tokenizer = llm.get_tokenizer()

    async def one(i: int, prompt: wire.PromptInput) -> int:
        made = 0
        ids = chat_ids(tokenizer, prompt)
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
    client: InferenceClient, inputs: list[wire.PromptInput], sampling: SamplingSettings
) -> float:
    started = time.perf_counter()
    for prompt in inputs:
        await client.generate(wire.GenerateRequest(model=MODEL, sampling=sampling, messages=prompt.messages))
    return time.perf_counter() - started


async def first_token_ms(client: InferenceClient, prompt: wire.PromptInput, sampling: SamplingSettings) -> float:
    started = time.perf_counter()
    first = None
    async for chunk in client.stream(wire.GenerateRequest(model=MODEL, sampling=sampling, messages=prompt.messages)):
        if first is None and chunk.kind == "chunk":
            first = (time.perf_counter() - started) * 1000.0
    assert first is not None
    return first


async def run(rounds: int, n: int, tokens: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="greentune-bench-inference-"))
    merged = tiny_finetuned() / "merged"
    stored = LocalArtifactStore(work / "artifacts").put_folder("models/finetuned/job-bench/merged_16bit", merged)
    server = NatsServer(store_dir=work / "nats").start()
    service = start_inference_service(server.url, work)
    nc = await connect(server.url, "bench")
    try:
        client = InferenceClient(nc)
        location = wire.ArtifactLocation(uri=stored.uri, sha256=stored.sha256)
        await load_until_ready(client, service, wire.LoadRequest(model=MODEL, source=location))
        llm = await in_process_engine(merged, InferenceSettings())
        try:
            return await measure(client, llm, prompts(n), rounds, tokens)
        finally:
            llm.shutdown()
    finally:
        await nc.close()
        stop(service)
        server.stop()


# ---- decode at batch 1 against memory bandwidth (SmolLM2) -------------------------------------


async def decode_rate(llm: Any, prompt: wire.PromptInput, tokens: int, lora: Any, tag: str) -> float:
    """Tokens/s of one stream after its first token: the decode steps alone, the prefill excluded."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    params = SamplingParams(temperature=0.0, min_tokens=tokens, max_tokens=tokens)
    ids = TokensPrompt(prompt_token_ids=chat_ids(llm.get_tokenizer(), prompt))
    first: tuple[float, int] | None = None  # when the first token(s) came, and how many
    last = 0.0
    async for out in llm.generate(ids, params, request_id=tag, lora_request=lora):
        last = time.perf_counter()
        first = first or (last, len(out.outputs[0].token_ids))
    assert first is not None and first[1] < tokens, "the stream came in one piece: nothing to time"
    return (tokens - first[1]) / (last - first[0])


async def decode_figures(dtype: str, streams: int, tokens: int) -> dict[str, float]:
    """Batch-1 decode of SmolLM2 in an engine with the service's settings at `dtype`, without and with the
    demo's LoRA adapter: tokens/s, and weight bytes read per token x tokens/s over the copy bandwidth
    on the engine's threads."""
    from vllm.lora.request import LoRARequest

    base, adapter = smollm2_finetuned()
    settings = InferenceSettings(dtype=dtype)  # type: ignore[arg-type]
    width = DTYPE_BYTES[dtype]
    llm = await in_process_engine(base, settings, [adapter])
    try:
        lora = LoRARequest("facts", 1, str(adapter))
        inputs = prompts(streams)
        await decode_rate(llm, inputs[0], tokens, None, f"{dtype}-warm")  # warm-up, both paths
        await decode_rate(llm, inputs[0], tokens, lora, f"{dtype}-warm-lora")
        plain = [await decode_rate(llm, p, tokens, None, f"{dtype}-{i}") for i, p in enumerate(inputs)]
        adapted = [await decode_rate(llm, p, tokens, lora, f"{dtype}-lora-{i}") for i, p in enumerate(inputs)]
    finally:
        llm.shutdown()
    bandwidth = copy_bandwidth(settings.cpu_threads)
    base_bytes = path_parameters(base) * width
    lora_bytes = base_bytes + lora_parameters(adapter) * width
    figures = {
        "tok_s": statistics.median(plain),
        "lora_tok_s": statistics.median(adapted),
        "copy_gb_s": bandwidth / 1e9,
        "bytes_per_token": base_bytes,
        "lora_bytes_per_token": lora_bytes,
    }
    figures["bw_fraction"] = figures["tok_s"] * base_bytes / bandwidth
    figures["lora_bw_fraction"] = figures["lora_tok_s"] * lora_bytes / bandwidth
    print(
        f"SmolLM2 {dtype}, batch 1, {settings.cpu_threads} engine thread(s): base {figures['tok_s']:.1f} tok/s x "
        f"{base_bytes / 1e6:.0f} MB = {figures['tok_s'] * base_bytes / 1e9:.2f} GB/s; with LoRA "
        f"{figures['lora_tok_s']:.1f} tok/s x {lora_bytes / 1e6:.0f} MB; copy {figures['copy_gb_s']:.1f} GB/s "
        f"-> {figures['bw_fraction']:.2f} / {figures['lora_bw_fraction']:.2f} of it",
        flush=True,
    )
    return figures


def decode_dtypes() -> list[str]:
    """float32 (the service's CPU default), and bfloat16 where the CPU has AVX-512 BF16 kernels."""
    _, flags = parse_cpuinfo(Path("/proc/cpuinfo").read_text())
    return ["float32", "bfloat16"] if "avx512_bf16" in flags else ["float32"]


async def decode_report(streams: int, tokens: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    default = InferenceSettings().engine_dtype
    for dtype in decode_dtypes():
        figures = await decode_figures(dtype, streams, tokens)
        result[f"decode_bw_fraction_{dtype}"] = round(figures["bw_fraction"], 3)
        result[f"decode_bw_fraction_lora_{dtype}"] = round(figures["lora_bw_fraction"], 3)
        result[f"decode_tok_s_{dtype}"] = round(figures["tok_s"], 1)
        result[f"decode_tok_s_lora_{dtype}"] = round(figures["lora_tok_s"], 1)
        result["decode_copy_gb_s"] = round(figures["copy_gb_s"], 2)
        if dtype == default:
            result["decode_bw_fraction"] = result[f"decode_bw_fraction_{dtype}"]
            result["decode_bw_fraction_lora"] = result[f"decode_bw_fraction_lora_{dtype}"]
            result["decode_dtype"] = dtype
    return result


async def measure(
    client: InferenceClient, llm: Any, inputs: list[wire.PromptInput], rounds: int, tokens: int
) -> dict[str, Any]:
    sampling = SamplingSettings(temperature=0.0, min_tokens=tokens, max_tokens=tokens)
    batch = wire.BatchRequest(model=MODEL, sampling=sampling, inputs=inputs)
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
    parser.add_argument("--decode-streams", type=int, default=8, help="SmolLM2 batch-1 streams per figure")
    parser.add_argument("--decode-tokens", type=int, default=64)
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds, args.prompts, args.tokens))
    result |= asyncio.run(decode_report(args.decode_streams, args.decode_tokens))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
