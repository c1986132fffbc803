"""Trainer benchmark: one fine-tune through the service vs the same training called directly, and
Unsloth vs plain transformers+PEFT, all on the same data, steps and CPU, interleaved.

    python bench/trainer.py [--model tiny|smollm2] [--rounds 7] [--epochs N]

Per round: (A) a job through the whole service (RPC intake, JetStream queue, a worker process
recording events, uploading checkpoints to the artifact store); (B) the same Unsloth + TRL recipe
called directly in a fresh process (before A in every other round); (C) plain transformers.Trainer
+ PEFT in a fresh process (TRL 1.15 without Unsloth is broken on CPU: research/mlstack.md 8.3).
Throughput is tokens the training loop consumed / seconds in the loop (imports and model loading
excluded on every side). The worker's first job is a warm-up, printed but not counted (a worker
serves many jobs; its first trains in a fresh thread, measurably slower). Ratios are medians of
per-round ratios. Ends with one JSON line: service_vs_direct (target >= 0.9) and unsloth_vs_hf,
prefixed `smollm2_` for SmolLM2-135M-Instruct (the demo's job on its invented facts), plus
flops_vs_matmul: training FLOP/s over the FLOP/s of a dense fp32 2048x2048 matmul measured in this
process on the same number of threads. Training FLOPs are counted as 6 x N x tokens, N the
parameters every token's forward and backward pass runs through (each block's attention and MLP
weights and the LM head; the embedding is a lookup), as for full training: a LoRA step skips the
frozen weights' gradients, so its real work is nearer 4 x N x tokens.
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
os.environ.setdefault("UNSLOTH_DISABLE_STATISTICS", "1")

from bench.machine import MATMUL_SIZE, matmul_flops, path_parameters
from services.embedded.demo_models import DEMO_DATA, SMOLLM2_JOB
from services.trainer.demo_facts import DEMO_HYPERPARAMETERS

REPO = Path(__file__).resolve().parents[1]


def job_config(model: str, epochs: int | None) -> dict[str, Any]:
    """The demo fine-tune of `model` (tiny: research/mlstack.md section 3, 20 epochs by default)."""
    if model == "tiny":
        job = {**DEMO_HYPERPARAMETERS, "epochs": epochs or 20, "progress_interval_steps": 10}
    else:
        job = {**SMOLLM2_JOB, "epochs": epochs or SMOLLM2_JOB["epochs"], "progress_interval_steps": 1}
    return {**job, "base_model": model, "checkpoint_interval_steps": 100}


def dataset_file(model: str) -> Path:
    return DEMO_DATA / ("facts.jsonl" if model == "tiny" else "invented_facts.jsonl")


def read_rows(dataset: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in dataset.read_text().splitlines() if line.strip()]


# ---- children: one training run each, printing one JSON line ---------------------------------


def child_unsloth(base: Path, config: dict[str, Any], dataset: Path, out: Path) -> dict[str, Any]:
    from services.trainer import recipe

    recipe.import_unsloth()
    from contracts.training_config import TrainingConfig

    cfg = TrainingConfig.model_validate({**config, "base_model": str(base), "dataset_id": "demo"})
    model, tokenizer = recipe.load_model(base, cfg)
    run = recipe.train(model, tokenizer, cfg, read_rows(dataset), out)
    return {"tokens": run.tokens_seen, "seconds": run.train_seconds, "steps": run.global_step}


def child_hf(base: Path, config: dict[str, Any], dataset: Path, out: Path) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from contracts.training_config import DEFAULT_TARGET_MODULES
    from services.trainer.adapters.tokenizer import encode

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    lora = config["lora"]
    model = get_peft_model(
        model,
        LoraConfig(
            r=lora["rank"], lora_alpha=lora["alpha"], lora_dropout=0.0, target_modules=list(DEFAULT_TARGET_MODULES)
        ),
    )
    rows = []
    for row in read_rows(dataset):  # assistant-only labels, exactly what the trainer trains on
        ids, mask = encode(tokenizer, row)
        labels = [t if m else -100 for t, m in zip(ids, mask, strict=True)]
        rows.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    args = TrainingArguments(
        output_dir=str(out), num_train_epochs=config["epochs"], per_device_train_batch_size=config["batch_size"],
        learning_rate=config["learning_rate"], lr_scheduler_type="linear", warmup_steps=config["warmup_steps"],
        weight_decay=0.0, logging_steps=1, save_strategy="steps", save_steps=config["checkpoint_interval_steps"],
        save_total_limit=2, report_to="none", disable_tqdm=True, seed=0, bf16=False, fp16=False, use_cpu=True,
        optim="adamw_torch_fused", include_num_input_tokens_seen=True, remove_unused_columns=False,
    )  # fmt: skip
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_list(rows), data_collator=collator)
    started = time.perf_counter()
    outcome = trainer.train()
    seconds = time.perf_counter() - started
    return {"tokens": int(trainer.state.num_input_tokens_seen), "seconds": seconds, "steps": outcome.global_step}


def run_child(kind: str, base: Path, config: dict[str, Any], dataset: Path, scratch: Path) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(dir=scratch, prefix=f"{kind}-"))
    args = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--base",
        str(base),
        "--config",
        json.dumps(config),
        "--dataset",
        str(dataset),
        "--out",
        str(out),
    ]
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# ---- the service side --------------------------------------------------------------------------


async def service_rounds(
    base: Path, config: dict[str, Any], dataset: Path, scratch: Path, rounds: int
) -> list[dict[str, Any]]:
    from contracts import Actor
    from services.runtime.jetstream import connect
    from services.runtime.nats_server import NatsServer
    from services.runtime.settings import KernelSettings
    from services.trainer.app import build_context, intake
    from services.trainer.client import ask
    from services.trainer.commands import CreateJob, RegisterBaseModel, RegisterDataset
    from services.trainer.config import TrainerSettings

    actor = Actor(kind="system", id="bench")
    server = NatsServer(store_dir=scratch / "nats").start()
    kernel = KernelSettings(data_dir=scratch / "data", nats_url=server.url)
    ctx = build_context(kernel, TrainerSettings(measure_energy=False, budget_check="off"))
    nc = await connect(server.url, "bench")
    env = {**os.environ, "GREENTUNE_DATA_DIR": str(kernel.data_dir), "GREENTUNE_NATS_URL": server.url}
    env["GREENTUNE_TRAINER_MEASURE_ENERGY"] = "0"  # measured separately by bench/carbon.py
    worker = subprocess.Popen([sys.executable, "-m", "services.cli.main", "jobs", "worker"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    results: list[dict[str, Any]] = []
    try:
        async with intake(ctx, nc):
            model = RegisterBaseModel(actor=actor, model_name=config["base_model"], source=str(base))
            await ask(nc, model, 120)
            dataset_id = (await ask(nc, RegisterDataset(actor=actor, path=str(dataset)), 120)).dataset_id

            async def service_job() -> dict[str, Any]:
                started = time.perf_counter()
                created = await ask(nc, CreateJob(actor=actor, config={**config, "dataset_id": dataset_id}), 120)
                done = await _completed(nc, created.job_id)
                wall = time.perf_counter() - started
                return {"tokens": done.tokens_trained, "seconds": done.train_seconds, "steps": done.steps, "wall": wall}

            # A worker lives for many jobs; its first one trains in a fresh thread, ~20% slower (measured
            # apart: the same recipe in a fresh thread vs the main thread). Shown, not in the ratios.
            warm_up = await service_job()
            print(f"  the worker's first job (warm-up): {warm_up['tokens'] / warm_up['seconds']:,.0f} tok/s")
            work = (base, config, dataset, scratch)
            for index in range(rounds):
                direct_first = index % 2 == 1  # alternate, so that a drift of the VM's speed favours neither
                direct = await asyncio.to_thread(run_child, "unsloth", *work) if direct_first else None
                row = await service_job()
                row["direct"] = direct or await asyncio.to_thread(run_child, "unsloth", *work)
                row["hf"] = await asyncio.to_thread(run_child, "hf", *work)
                results.append(row)
                print(f"  round {index + 1}/{rounds} done", flush=True)
    finally:
        worker.kill()
        await nc.close()
        server.stop()
    return results


async def _completed(nc: Any, job_id: str) -> Any:
    from nats.js.api import DeliverPolicy

    from contracts import decode_envelope
    from contracts.events.jobs import JobCompleted, JobFailed

    sub = await nc.jetstream().subscribe(
        f"events.trainer.job.{job_id}.*", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    try:
        while True:
            event = decode_envelope((await sub.next_msg(timeout=600)).data).event
            if isinstance(event, JobFailed):
                raise RuntimeError(f"bench job failed: {event.message}")
            if isinstance(event, JobCompleted):
                return event
    finally:
        await sub.unsubscribe()


def report(results: list[dict[str, Any]], flop_per_token: float, matmul: float) -> dict[str, float]:
    def rate(r: dict[str, Any]) -> float:
        return float(r["tokens"]) / float(r["seconds"])

    print(f"\n{'round':>5} {'service tok/s':>14} {'direct tok/s':>13} {'plain HF tok/s':>15} {'service e2e s':>14}")
    for i, r in enumerate(results, 1):
        print(f"{i:>5} {rate(r):>14,.0f} {rate(r['direct']):>13,.0f} {rate(r['hf']):>15,.0f} {r['wall']:>14.1f}")
    same_work = all(r["tokens"] == r["direct"]["tokens"] and r["steps"] == r["direct"]["steps"] for r in results)
    first = results[0]
    sides = [("service", first), ("direct", first["direct"]), ("plain HF", first["hf"])]
    work = ", ".join(f"{name} {side['tokens']:,} tokens in {side['steps']} steps" for name, side in sides)
    print(f"per job: {work}" + ("" if same_work else "  (service and direct DIFFER)"))
    service_vs_direct = statistics.median(rate(r) / rate(r["direct"]) for r in results)
    unsloth_vs_hf = statistics.median(rate(r["direct"]) / rate(r["hf"]) for r in results)
    service_flops = statistics.median(rate(r) for r in results) * flop_per_token
    direct_flops = statistics.median(rate(r["direct"]) for r in results) * flop_per_token
    print(
        f"\nmedian service/direct {service_vs_direct:.3f} (target >= 0.9), median unsloth/plain HF {unsloth_vs_hf:.3f}"
        f"\ntraining {service_flops / 1e9:.1f} GFLOP/s through the service, {direct_flops / 1e9:.1f} direct, "
        f"against {matmul / 1e9:.1f} GFLOP/s for a {MATMUL_SIZE}x{MATMUL_SIZE} fp32 matmul"
    )
    return {
        "service_vs_direct": round(service_vs_direct, 3),
        "unsloth_vs_hf": round(unsloth_vs_hf, 3),
        "flops_vs_matmul": round(service_flops / matmul, 3),
        "direct_flops_vs_matmul": round(direct_flops / matmul, 3),
        "matmul_gflops": round(matmul / 1e9, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["tiny", "smollm2"], default="tiny")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, help="tiny: 20 (260 steps); smollm2: the demo's 5 (30 steps)")
    parser.add_argument("--child", choices=["unsloth", "hf"])
    parser.add_argument("--base", type=Path)
    parser.add_argument("--config")
    parser.add_argument("--dataset", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child = child_unsloth if args.child == "unsloth" else child_hf
        print(json.dumps(child(args.base, json.loads(args.config), args.dataset, args.out)))
        return
    sys.path.insert(0, str(REPO))
    import torch

    from tests.harness.models import smollm2_base, tiny_base

    base = tiny_base() if args.model == "tiny" else smollm2_base()
    config, dataset = job_config(args.model, args.epochs), dataset_file(args.model)
    threads = torch.get_num_threads()  # what the training children use
    matmul_before = matmul_flops(threads)
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as scratch:
        results = asyncio.run(service_rounds(base, config, dataset, Path(scratch), args.rounds))
    matmul = statistics.median([matmul_before, matmul_flops(threads)])  # before and after: the VM's speed drifts
    figures = report(results, 6 * path_parameters(base), matmul)
    prefix = "" if args.model == "tiny" else f"{args.model}_"
    print(json.dumps({f"{prefix}{name}": value for name, value in figures.items()} | {"threads": threads}))


if __name__ == "__main__":
    main()
