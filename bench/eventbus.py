"""Event bus benchmark: our relay and projection replay against bare nats-py loops, same run.

    python bench/eventbus.py [--events 5000] [--rounds 5]

Each round starts a fresh nats-server (fsync on every write, as in production) and runs A and B
in alternating order; ratios are medians over rounds. Targets: relay >= 0.5x raw async publish,
replay >= 0.25x a bare ordered-consumer decode-and-apply loop. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import ClassVar
from uuid import uuid4

from eventsourcing.sqlite import SQLiteCursor
from nats.js.api import DeliverPolicy

from contracts import Envelope
from contracts.events.jobs import JobQueued, JobRequested, TrainingProgressed
from contracts.training_config import TrainingConfig
from services.runtime.aggregate import Causation, EventSourcedAggregate
from services.runtime.event_store import ServiceApplication
from services.runtime.jetstream import connect, ensure_stream
from services.runtime.nats_server import NatsServer
from services.runtime.outbox import OutboxRelay
from services.runtime.projection import ProjectionRunner
from services.runtime.settings import KernelSettings
from services.runtime.views import SQLiteView
from services.runtime.wire import to_message

CAUSE = Causation.system("bench")
STEPS_PER_JOB = 98  # + JobRequested + JobQueued = 100 events per job


class BenchJob(EventSourcedAggregate):
    producer = "bench"


class BenchApp(ServiceApplication):
    producer = "bench"


class StepsView(SQLiteView):
    name = "bench_steps"
    tables: ClassVar[dict[str, str]] = {
        "steps": "CREATE TABLE IF NOT EXISTS steps (job_id TEXT PRIMARY KEY, events INTEGER)"
    }

    def project(self, cursor: SQLiteCursor, envelope: Envelope, position: int) -> None:
        cursor.execute(
            "INSERT INTO steps VALUES (?, 1) ON CONFLICT (job_id) DO UPDATE SET events = events + 1",
            (envelope.aggregate_id,),
        )


def fill_outbox(data_dir: Path, events: int) -> BenchApp:
    app = BenchApp(KernelSettings(data_dir=data_dir))
    config = TrainingConfig(base_model="tiny", dataset_id="facts")
    for _ in range(events // (STEPS_PER_JOB + 2)):
        job = BenchJob.start(uuid4(), JobRequested(config=config), CAUSE)
        job.record(JobQueued(priority=0), CAUSE)
        for step in range(1, STEPS_PER_JOB + 1):
            job.record(TrainingProgressed(step=step, epoch=0.0, loss=1.0, learning_rate=1e-3), CAUSE)
        app.save_aggregates(job)
    return app


async def time_relay(app: BenchApp, url: str) -> float:
    nc = await connect(url, "bench-relay")
    relay = OutboxRelay(app, nc, batch_size=500)
    start = time.perf_counter()
    await relay.recover()
    while await relay.pump_once():
        pass
    elapsed = time.perf_counter() - start
    await nc.close()
    return elapsed


async def time_raw_publish(app: BenchApp, url: str) -> float:
    messages = [to_message(env) for _, env in app.outbox_after(0, 1_000_000)]
    raw = [(m.subject.replace("events.bench.", "events.raw.", 1), m.payload) for m in messages]
    nc = await connect(url, "bench-raw")
    js = nc.jetstream()
    start = time.perf_counter()
    futures = [
        await js.publish_async(subject, payload, headers={"Nats-Msg-Id": uuid4().hex}) for subject, payload in raw
    ]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - start
    await nc.close()
    return elapsed


async def time_replay(url: str, view_path: Path) -> float:
    nc = await connect(url, "bench-replay")
    runner = ProjectionRunner(
        nc,
        StepsView.open(view_path),
        durable=f"bench-{uuid4().hex[:8]}",
        filter_subjects=["events.bench.>"],
        batch_size=500,
    )
    start = time.perf_counter()
    await runner.rebuild()
    elapsed = time.perf_counter() - start
    await nc.close()
    return elapsed


async def time_bare_replay(url: str, expected: int) -> float:
    nc = await connect(url, "bench-bare")
    js = nc.jetstream()
    counts: Counter[str] = Counter()
    start = time.perf_counter()
    sub = await js.subscribe("events.bench.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    for _ in range(expected):
        message = await sub.next_msg(timeout=10)
        counts[json.loads(message.data)["aggregate_id"]] += 1
    elapsed = time.perf_counter() - start
    await sub.unsubscribe()
    await nc.close()
    return elapsed


async def one_round(events: int, index: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, NatsServer(store_dir=Path(tmp) / "nats") as server:
        app = fill_outbox(Path(tmp), events)
        count = app.outbox_head()
        nc = await connect(server.url, "bench-setup")
        await ensure_stream(nc.jetstream())
        await nc.close()
        if index % 2:
            raw = await time_raw_publish(app, server.url)
            relay = await time_relay(app, server.url)
        else:
            relay = await time_relay(app, server.url)
            raw = await time_raw_publish(app, server.url)
        if index % 2:
            bare = await time_bare_replay(server.url, count)
            replay = await time_replay(server.url, Path(tmp) / f"view-{index}.sqlite")
        else:
            replay = await time_replay(server.url, Path(tmp) / f"view-{index}.sqlite")
            bare = await time_bare_replay(server.url, count)
        return {"events": count, "relay_s": relay, "raw_s": raw, "replay_s": replay, "bare_s": bare}


async def main(events: int, rounds: int) -> dict[str, float]:
    results = [await one_round(events, i) for i in range(rounds)]
    print(f"{'round':>5} {'events':>7} {'relay ev/s':>11} {'raw ev/s':>10} {'replay ev/s':>12} {'bare ev/s':>10}")
    for i, r in enumerate(results):
        n = r["events"]
        print(
            f"{i:>5} {n:>7.0f} {n / r['relay_s']:>11.0f} {n / r['raw_s']:>10.0f} {n / r['replay_s']:>12.0f} "
            f"{n / r['bare_s']:>10.0f}"
        )
    relay_vs_raw = statistics.median(r["raw_s"] / r["relay_s"] for r in results)
    replay_vs_bare = statistics.median(r["bare_s"] / r["replay_s"] for r in results)
    n = results[0]["events"]
    return {
        "events": n,
        "rounds": rounds,
        "relay_events_per_s": round(statistics.median(n / r["relay_s"] for r in results)),
        "raw_events_per_s": round(statistics.median(n / r["raw_s"] for r in results)),
        "replay_events_per_s": round(statistics.median(n / r["replay_s"] for r in results)),
        "bare_events_per_s": round(statistics.median(n / r["bare_s"] for r in results)),
        "relay_vs_raw": round(relay_vs_raw, 3),
        "replay_vs_bare": round(replay_vs_bare, 3),
        "relay_target_met": relay_vs_raw >= 0.5,
        "replay_target_met": replay_vs_bare >= 0.25,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    summary = asyncio.run(main(args.events, args.rounds))
    print(json.dumps(summary))
    sys.exit(0)
