"""Carbon meter overhead on a CPU fine-tune of about a minute (Unsloth, the tiny demo model).

    python bench/carbon.py [--epochs 160] [--pairs 1] [--interval 10]

The same job runs without the meter (A) and with it (B: CodeCarbon meter + EmissionsMeasured
reporter publishing to a local nats-server), alternating A/B after an untimed warm-up. The meter's
own CPU time is counted in its threads (1 s power samples, reads) plus the whole event-loop thread
that publishes the intervals; the job's CPU time is the process's. Wall time on this VM is noisy:
the CPU-time fraction is the figure to trust. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests.harness caches the tiny model

from services.trainer import recipe

recipe.import_unsloth()  # before transformers/trl/peft

from contracts import Actor  # noqa: E402
from services.carbon.adapters.codecarbon_meter import CodeCarbonMeter  # noqa: E402
from services.carbon.config import CarbonSettings  # noqa: E402
from services.carbon.metering import JobEnergyReporter, emissions_log, grid_for  # noqa: E402
from services.runtime.jetstream import connect, ensure_stream  # noqa: E402
from services.runtime.nats_server import NatsServer  # noqa: E402
from services.trainer.demo_facts import as_messages, demo_facts, demo_training_config  # noqa: E402
from tests.harness.models import tiny_base  # noqa: E402

ACTOR = Actor(kind="system", id="bench")


def cpu_seconds() -> float:
    """This process's CPU time, all threads, plus finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def train(base: Path, epochs: float, work: Path) -> int:
    config = demo_training_config(str(base), epochs=epochs, checkpoint_interval_steps=1_000_000)
    model, tokenizer = recipe.load_model(base, config)
    return recipe.train(model, tokenizer, config, as_messages(demo_facts()), work).global_step


async def run(base: Path, epochs: float, energy: JobEnergyReporter | None) -> dict[str, Any]:
    meter = energy.meter if energy else None
    meter_before = meter.overhead_cpu_seconds if isinstance(meter, CodeCarbonMeter) else 0.0
    loop_before, cpu_before, wall_before = time.thread_time(), cpu_seconds(), time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        if energy is None:
            steps = await asyncio.to_thread(train, base, epochs, Path(work))
            intervals = 0
        else:
            async with energy.measuring(str(uuid4()), ACTOR) as reporter:
                steps = await asyncio.to_thread(train, base, epochs, Path(work))
            intervals = len(reporter.published)
    wall, job_cpu = time.perf_counter() - wall_before, cpu_seconds() - cpu_before
    loop_cpu = time.thread_time() - loop_before  # the event loop thread: publishing, when metered
    meter_cpu = (meter.overhead_cpu_seconds - meter_before + loop_cpu) if isinstance(meter, CodeCarbonMeter) else 0.0
    return {"wall_s": wall, "job_cpu_s": job_cpu, "meter_cpu_s": meter_cpu, "steps": steps, "intervals": intervals}


async def main(epochs: float, pairs: int, interval: float) -> dict[str, Any]:
    base = tiny_base()
    with tempfile.TemporaryDirectory() as store, NatsServer(store_dir=Path(store)) as server:
        nc = await connect(server.url, "bench-carbon")
        await ensure_stream(nc.jetstream())
        meter = CodeCarbonMeter()
        meter.start()  # what a worker does once, at process start
        startup = {"meter_startup_cpu_s": meter.overhead_cpu_seconds}
        settings = CarbonSettings(country_iso_code="FRA", interval_seconds=interval)
        energy = JobEnergyReporter(emissions_log(nc), meter, grid_for(settings), settings)
        await run(base, 1, None)  # warm-up: first-load and compile costs land on nobody
        rows: dict[str, list[dict[str, Any]]] = {"plain": [], "metered": []}
        for pair in range(pairs):
            order = ("plain", "metered") if pair % 2 == 0 else ("metered", "plain")
            for name in order:
                rows[name].append(await run(base, epochs, energy if name == "metered" else None))
                print(name, json.dumps({k: round(v, 4) for k, v in rows[name][-1].items()}), flush=True)
        meter.stop()
        await nc.close()
    return summary(rows, startup)


def summary(rows: dict[str, list[dict[str, Any]]], startup: dict[str, float]) -> dict[str, Any]:
    metered, plain = rows["metered"], rows["plain"]
    fraction = statistics.median(r["meter_cpu_s"] / r["job_cpu_s"] for r in metered)
    wall_ratio = statistics.median(m["wall_s"] / p["wall_s"] for m, p in zip(metered, plain, strict=True))
    first_job = (metered[0]["meter_cpu_s"] + startup["meter_startup_cpu_s"]) / metered[0]["job_cpu_s"]
    print(f"\n{'run':<8} {'wall s':>8} {'job CPU s':>10} {'meter CPU s':>12} {'steps':>6} {'intervals':>9}")
    for name, runs in rows.items():
        for r in runs:
            print(
                f"{name:<8} {r['wall_s']:>8.1f} {r['job_cpu_s']:>10.1f} {r['meter_cpu_s']:>12.4f} {r['steps']:>6} "
                f"{r['intervals']:>9}"
            )
    print(
        f"meter start-up, once per process (hardware probe incl. its subprocesses): "
        f"{startup['meter_startup_cpu_s']:.3f} s CPU"
    )
    return {
        "meter_cpu_fraction": round(fraction, 6),
        "meter_wall_ratio": round(wall_ratio, 4),
        "meter_cpu_fraction_first_job_incl_startup": round(first_job, 6),
        "meter_startup_cpu_s": round(startup["meter_startup_cpu_s"], 4),
        "job_wall_s": round(statistics.median(r["wall_s"] for r in metered), 1),
        "pairs": len(metered),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=160, help="Passes over the 200 demo facts (160: ~1 min).")
    parser.add_argument("--pairs", type=int, default=1, help="Plain/metered pairs, alternating order.")
    parser.add_argument("--interval", type=float, default=10.0, help="EmissionsMeasured every N seconds.")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.epochs, args.pairs, args.interval))))
