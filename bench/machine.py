"""The machine's own limits, measured in the benchmark's process on the threads the measured work
uses, and the model arithmetic the benchmarks set against them."""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path

MATMUL_SIZE = 2048
COPY_BYTES = 1 << 30  # 1 GiB: far past every cache


def path_parameters(base: Path) -> int:
    """Parameters a token's pass runs through (Llama layout, from config.json): each block's attention
    and MLP weights and the LM head; the embedding is a lookup, the norms are negligible."""
    config = json.loads((base / "config.json").read_text())
    hidden, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    head_dim = config.get("head_dim") or hidden // config["num_attention_heads"]
    kv = config.get("num_key_value_heads", config["num_attention_heads"]) * head_dim
    attention = 2 * hidden * hidden + 2 * hidden * kv  # q, o; k, v
    mlp = 3 * hidden * config["intermediate_size"]  # gate, up, down
    return int(layers * (attention + mlp) + vocab * hidden)


def lora_parameters(adapter: Path) -> int:
    """Parameters of a PEFT LoRA adapter folder (A and B of every adapted layer), from its safetensors."""
    from safetensors import safe_open

    total = 0
    with safe_open(adapter / "adapter_model.safetensors", framework="pt") as tensors:
        for name in tensors.keys():  # noqa: SIM118  # safe_open has no __iter__
            shape = tensors.get_slice(name).get_shape()
            total += math.prod(shape)
    return total


def matmul_flops(threads: int, repeats: int = 20) -> float:
    """FLOP/s of a dense fp32 MATMUL_SIZE^2 matmul on `threads` threads (median of `repeats`)."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    torch.mm(a, b)  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - started)
    return 2 * MATMUL_SIZE**3 / statistics.median(times)


def copy_bandwidth(threads: int, repeats: int = 7) -> float:
    """Bytes/s of a COPY_BYTES tensor copy on `threads` threads, bytes read plus bytes written (STREAM's
    convention; median of `repeats`)."""
    import torch

    torch.set_num_threads(threads)
    source = torch.ones(COPY_BYTES // 4, dtype=torch.float32)
    target = torch.empty_like(source)
    target.copy_(source)  # warm-up: pages touched
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        target.copy_(source)
        times.append(time.perf_counter() - started)
    return 2 * COPY_BYTES / statistics.median(times)
