"""The trainer's job on a CUDA GPU with Unsloth's kernels: prints tokens/s and peak GPU memory.

    python scripts/gpu/trainer_gpu.py                 # the demo job: tiny model, demo facts (as in CI)
    python scripts/gpu/trainer_gpu.py --size 1b       # same recipe on a random-init 1.1B Llama, 2k-token rows
    python scripts/gpu/trainer_gpu.py --method qlora  # 4-bit base (bitsandbytes)

Needs the GPU profile (`GREENTUNE_PROFILE=gpu scripts/install`) and no network: models are built
locally. Runs exactly the worker's recipe (services/trainer/recipe.py: FastLanguageModel + TRL
SFTTrainer, bf16, Unsloth gradient checkpointing). Ends with one JSON line. Not part of the test
run: tests/trainer/test_gpu.py (marker `gpu`) calls it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from services.trainer import recipe  # noqa: E402  # the repo must be importable first

recipe.import_unsloth()  # before transformers, TRL and PEFT

import torch  # noqa: E402

from contracts.training_config import LoraSettings, TrainingConfig  # noqa: E402
from services.trainer.demo_facts import as_messages, demo_facts, demo_training_config, pseudoword  # noqa: E402
from services.trainer.tiny_model import build_tiny_model  # noqa: E402

# Llama shapes of TinyLlama-1.1B (random init: throughput and memory do not depend on the weights).
ONE_B = {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
         "num_key_value_heads": 4, "max_position_embeddings": 4096}  # fmt: skip


def one_b_model(tiny_dir: Path, out: Path) -> Path:
    """A 1.1B-shaped Llama with the tiny model's tokenizer, saved in bf16."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_dir))
    config = LlamaConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **ONE_B)  # fmt: skip
    with torch.device("cuda"):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    del model
    torch.cuda.empty_cache()
    return out


def long_rows(count: int, words: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"text": " ".join(pseudoword(rng, rng.randint(1, 3)) for _ in range(words))} for _ in range(count)]


def run(base: Path, config: TrainingConfig, rows: list[dict[str, Any]], out: Path) -> dict[str, Any]:
    torch.cuda.reset_peak_memory_stats()
    model, tokenizer = recipe.load_model(base, config)
    started = time.perf_counter()
    result = recipe.train(model, tokenizer, config, rows, out)
    torch.cuda.synchronize()
    losses = result.losses
    return {
        "device": torch.cuda.get_device_name(0),
        "method": config.method,
        "steps": result.global_step,
        "tokens": result.tokens_seen,
        "train_seconds": round(result.train_seconds, 2),
        "tokens_per_second": round(result.tokens_seen / result.train_seconds, 1),
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3),
        "first_loss": losses[0][1] if losses else None,
        "last_loss": losses[-1][1] if losses else None,
        "wall_seconds_incl_load": round(time.perf_counter() - started, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=["tiny", "1b"], default="tiny")
    parser.add_argument("--method", choices=["lora", "qlora", "full"], default="lora")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps of the 1b run")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA GPU: this script measures Unsloth's GPU kernels (run the CPU path with bench/trainer.py)")
    with tempfile.TemporaryDirectory(prefix="trainer-gpu-") as scratch:
        work = Path(scratch)
        tiny = build_tiny_model(work / "tiny").path
        if args.size == "tiny":  # the demo job, exactly as the CPU tests run it
            config = demo_training_config(str(tiny), method=args.method, checkpoint_interval_steps=10_000)
            result = run(tiny, config, as_messages(demo_facts()), work / "out")
        else:
            base = one_b_model(tiny, work / "llama-1b")
            config = TrainingConfig(
                base_model=str(base),
                dataset_id="synthetic",
                method=args.method,
                lora=LoraSettings(rank=16, alpha=32),
                learning_rate=2e-4,
                max_steps=args.steps,
                batch_size=4,
                gradient_accumulation_steps=2,
                max_seq_length=2048,
                checkpoint_interval_steps=10_000,
            )
            result = run(base, config, long_rows(count=8 * args.steps, words=1500), work / "out")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
