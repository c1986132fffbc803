"""Trainer benchmark: one fine-tune through the service vs the same training called directly, and
Unsloth vs plain transformers+PEFT, all on the same data, steps and CPU, interleaved.

    python bench/trainer.py [--rounds 7] [--epochs 20]

Per round: (A) a job through the whole service (RPC intake, JetStream queue, a worker process
recording events, uploading checkpoints to the artifact store); (B) the same Unsloth + TRL recipe
called directly in a fresh process (before A in every other round); (C) plain transformers.Trainer
+ PEFT in a fresh process (TRL 1.15 without Unsloth is broken on CPU: research/mlstack.md 8.3).
Throughput is tokens the training loop consumed / seconds in the loop (imports and model loading
excluded on every side). The worker's first job is a warm-up, printed but not counted (a worker
serves many jobs; its first trains in a fresh thread, measurably slower). Ratios are medians of
per-round ratios. Ends with one JSON line: service_vs_direct (target >= 0.9) and unsloth_vs_hf.
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

from services.trainer.demo_facts import DEMO_HYPERPARAMETERS

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("UNSLOTH_DISABLE_STATISTICS", "1")


def job_config(epochs: int) -> dict[str, Any]:
    """The demo fine-tune (research/mlstack.md section 3), shortened to `epochs`."""
    return {
        **DEMO_HYPERPARAMETERS,
        "base_model": "tiny",
        "epochs": epochs,
        "checkpoint_interval_steps": 100,
        "progress_interval_steps": 10,
    }


# ---- children: one training run each, printing one JSON line ---------------------------------


def child_unsloth(base: Path, config: dict[str, Any], out: Path) -> dict[str, Any]:
    from services.trainer import recipe

    recipe.import_unsloth()
    from contracts.training_config import TrainingConfig
    from services.trainer.demo_facts import as_messages, demo_facts

    cfg = TrainingConfig.model_validate({**config, "base_model": str(base), "dataset_id": "demo"})
    model, tokenizer = recipe.load_model(base, cfg)
    run = recipe.train(model, tokenizer, cfg, as_messages(demo_facts()), out)
    return {"tokens": run.tokens_seen, "seconds": run.train_seconds, "steps": run.global_step}


def child_hf(base: Path, config: dict[str, Any], out: Path) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from contracts.training_config import DEFAULT_TARGET_MODULES
    from services.trainer.adapters.tokenizer import encode
    from services.trainer.demo_facts import as_messages, demo_facts

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
    for row in as_messages(demo_facts()):  # assistant-only labels, exactly what the trainer trains on
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


def run_child(kind: str, base: Path, config: dict[str, Any], scratch: Path) -> dict[str, Any]:
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
        "--out",
        str(out),
    ]
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# ---- the service side --------------------------------------------------------------------------


async def service_rounds(base: Path, config: dict[str, Any], scratch: Path, rounds: int) -> list[dict[str, Any]]:
    from contracts import Actor
    from services.runtime.jetstream import connect
    from services.runtime.nats_server import NatsServer
    from services.runtime.settings import KernelSettings
    from services.trainer.adapters.rpc import call
    from services.trainer.app import build_context, intake
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
            await call(nc, RegisterBaseModel(actor=actor, model_name="tiny", source=str(base)), 120)
            demo = REPO / "services/trainer/demo/facts.jsonl"
            dataset = (await call(nc, RegisterDataset(actor=actor, path=str(demo)), 120))["result"]["dataset_id"]


            async def service_job() -> dict[str, Any]:
                started = time.perf_counter()
                reply = await call(nc, CreateJob(actor=actor, config={**config, "dataset_id": dataset}), 120)
                done = await _completed(nc, reply["result"]["job_id"])
                wall = time.perf_counter() - started
                return {"tokens": done.tokens_trained, "seconds": done.train_seconds, "steps": done.steps, "wall": wall}

            # A worker lives for many jobs; its first one trains in a fresh thread, ~20% slower (measured
            # apart: the same recipe in a fresh thread vs the main thread). Shown, not in the ratios.
            warm_up = await service_job()
            print(f"  the worker's first job (warm-up): {warm_up['tokens'] / warm_up['seconds']:,.0f} tok/s")
            for index in range(rounds):
                direct_first = index % 2 == 1  # alternate, so that a drift of the VM's speed favours neither
                direct = await asyncio.to_thread(run_child, "unsloth", base, config, scratch) if direct_first else None
                row = await service_job()
                row["direct"] = direct or await asyncio.to_thread(run_child, "unsloth", base, config, scratch)
                row["hf"] = await asyncio.to_thread(run_child, "hf", base, config, scratch)
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


def report(results: list[dict[str, Any]]) -> dict[str, float]:
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
    print(
        f"\nmedian service/direct {service_vs_direct:.3f} (target >= 0.9), median unsloth/plain HF {unsloth_vs_hf:.3f}"
    )
    return {"service_vs_direct": round(service_vs_direct, 3), "unsloth_vs_hf": round(unsloth_vs_hf, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=20, help="20 epochs of the 200 demo facts = 260 steps")
    parser.add_argument("--child", choices=["unsloth", "hf"])
    parser.add_argument("--base", type=Path)
    parser.add_argument("--config")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child = child_unsloth if args.child == "unsloth" else child_hf
        print(json.dumps(child(args.base, json.loads(args.config), args.out)))
        return
    sys.path.insert(0, str(REPO))
    from tests.harness.models import tiny_base

    base, config = tiny_base(), job_config(args.epochs)
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as scratch:
        results = asyncio.run(service_rounds(base, config, Path(scratch), args.rounds))
    print(json.dumps(report(results)))


if __name__ == "__main__":
    main()
