"""API start-up benchmark: how long `greentune api serve` takes to be ready (GET /healthz 200, once
its overview read model has caught up with the log) on a large event log and on an empty one, what
that costs in memory, and how fast it then lists jobs.

    python bench/api.py [--jobs 10000] [--progress 99] [--seconds 5]

The log holds `--jobs` jobs, each a JobRequested and `--progress` TrainingProgressed events (the
defaults make 1,000,000 events), published to a private nats-server with JetStream acks (the
envelopes are the contracts' own, each with its Nats-Msg-Id). Each start is a fresh API process
(this file's `serve`: the API's own app plus one bare route), timed from spawn to its first 200 on
/healthz, Python's imports included, so the empty log gives the floor. The first start on the full
log builds the overview from sequence 1 (`build_s_1m`); the next one, the API's normal start, finds
it stored and is timed as `ready_s_1m`. Memory is the process's RSS once ready. Then Debian's `wrk`
(one thread, 8 connections, `--seconds` each, leaving the other core to the server) asks
`GET /api/v1/jobs` (its first page, 100 jobs) and a bare route of the same server that returns the
same bytes without a query, auth or a model, registered after the API's routes as any added route
would be: the ratio is `jobs_vs_bare`. Ends with one JSON line: ready_s_empty, build_s_1m, ready_s_1m (named for the
default size), rss_empty_mb, rss_growth_mb_1m, jobs_per_s, bare_per_s, jobs_vs_bare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi import Request, Response

from bench.servers import spawn, stop
from contracts import Actor, Envelope
from contracts.events.jobs import JobRequested, TrainingProgressed
from contracts.training_config import TrainingConfig
from services.runtime.jetstream import connect, ensure_stream
from services.runtime.nats_server import NatsServer, free_port
from services.runtime.wire import to_message

ACTOR = Actor(kind="system", id="bench")
IN_FLIGHT = 2000  # publishes awaiting their ack at once


def job_events(job_id: str, progress: int) -> list[Envelope]:
    config = TrainingConfig(base_model="tiny", dataset_id="demo", max_steps=progress)
    events: list[Any] = [JobRequested(name=f"bench-{job_id[:8]}", config=config)]
    events += [
        TrainingProgressed(step=step, max_steps=progress, epoch=step / progress, loss=2.0 / step, learning_rate=1e-4,
                           tokens_per_second=300.0)
        for step in range(1, progress + 1)
    ]  # fmt: skip
    return [Envelope.new(e, producer="trainer", aggregate_id=job_id, actor=ACTOR) for e in events]


async def fill(url: str, jobs: int, progress: int) -> int:
    nc = await connect(url, "bench-api-fill")
    js = nc.jetstream()
    await ensure_stream(js)
    published = 0
    pending: list[Any] = []
    try:
        for _ in range(jobs):
            for envelope in job_events(str(uuid.uuid4()), progress):
                message = to_message(envelope)
                pending.append(js.publish(message.subject, message.payload, headers=dict(message.headers)))
                if len(pending) >= IN_FLIGHT:
                    await asyncio.gather(*pending)
                    published, pending = published + len(pending), []
        await asyncio.gather(*pending)
        return published + len(pending)
    finally:
        await nc.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def serve() -> None:
    """The API as `greentune api serve` runs it, plus PUT/GET /bench/bare: stored bytes, returned as they are."""
    from services.api.app import create_app
    from services.api.config import ApiSettings
    from services.api.shutdown import serve as serve_app
    from services.runtime.logging import configure_logging
    from services.runtime.settings import KernelSettings

    kernel, settings = KernelSettings(), ApiSettings()
    configure_logging(kernel.log_level)
    app = create_app(settings, kernel)
    bare = {"body": b"{}"}

    @app.put("/bench/bare", include_in_schema=False)
    async def keep(request: Request) -> Response:
        bare["body"] = await request.body()
        return Response(status_code=204)

    @app.get("/bench/bare", include_in_schema=False)
    async def answer() -> Response:
        return Response(bare["body"], media_type="application/json")

    routes = app.router.routes
    routes.append(routes.pop(-3))  # the dashboard's catch-all last again: the bare routes come just before it
    serve_app(app, settings.host, settings.port, kernel.log_level)


def wrk_per_s(url: str, seconds: int) -> float:
    """Requests per second `wrk` gets from `url` over 8 connections (one thread: the server has the other core)."""
    if shutil.which("wrk") is None:
        raise SystemExit("bench/api.py needs Debian's wrk for the request rates: apt-get install wrk")
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", url], check=True, capture_output=True, text=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk on {url} did not get answers:\n{out}")
    return float(match.group(1))


async def start_api(nats_url: str, work: Path, name: str, seconds: int = 0) -> dict[str, Any]:
    """A fresh API process on work/data: seconds until /healthz answers 200, its RSS then, and (with
    `seconds`) the request rates of GET /api/v1/jobs and of the bare route returning its bytes."""
    import httpx

    port = free_port()
    env = {**os.environ, "GREENTUNE_NATS_URL": nats_url, "GREENTUNE_DATA_DIR": str(work / "data"),
           "GREENTUNE_API_PORT": str(port), "GREENTUNE_LOG_LEVEL": "warning"}  # fmt: skip
    # loopback and no API key on its fresh log: every request is anonymous, wrk sends no header
    started = time.perf_counter()
    process = spawn([sys.executable, __file__, "serve"], env, work / f"api-{name}.log")
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=3600) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the API exited with {process.returncode}: see {work}/api-{name}.log")
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
            result: dict[str, Any] = {"ready_s": time.perf_counter() - started, "rss_mb": rss_mb(process.pid)}
            jobs = await client.get("/api/v1/jobs")
            result["jobs_total"] = jobs.json()["total"]
            if seconds:
                kept = await client.put("/bench/bare", content=jobs.content)
                assert kept.status_code == 204, kept.text
                assert (await client.get("/bench/bare")).content == jobs.content
                result["jobs_per_s"] = await asyncio.to_thread(wrk_per_s, f"{url}/api/v1/jobs", seconds)
                result["bare_per_s"] = await asyncio.to_thread(wrk_per_s, f"{url}/bench/bare", seconds)
        return result
    finally:
        stop(process)


async def run(jobs: int, progress: int, seconds: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="greentune-bench-api-"))
    server = NatsServer(store_dir=work / "nats").start()
    try:
        empty = await start_api(server.url, work, "empty")
        shutil.rmtree(work / "data")  # the next start builds its overview from sequence 1
        began = time.perf_counter()
        events = await fill(server.url, jobs, progress)
        print(f"published {events:,} events in {time.perf_counter() - began:.0f} s", flush=True)
        built = await start_api(server.url, work, "build")
        print(f"first start on {events:,} events (overview built from sequence 1): ready in {built['ready_s']:.1f} s",
              flush=True)  # fmt: skip
        full = await start_api(server.url, work, "full", seconds)
    finally:
        server.stop()
    for start in (built, full):
        if start["jobs_total"] != jobs:
            raise RuntimeError(f"the API counted {start['jobs_total']} of {jobs} jobs once ready")
    print(f"empty log: ready in {empty['ready_s']:.1f} s, RSS {empty['rss_mb']:.0f} MiB")
    print(f"{events:,} events, overview stored: ready in {full['ready_s']:.1f} s, RSS {full['rss_mb']:.0f} MiB")
    print(f"GET /api/v1/jobs ({jobs:,} jobs, first page): {full['jobs_per_s']:.0f}/s; "
          f"the same bytes from a bare route: {full['bare_per_s']:.0f}/s")  # fmt: skip
    return {
        "events": events,
        "ready_s_empty": round(empty["ready_s"], 2),
        "build_s_1m": round(built["ready_s"], 2),
        "ready_s_1m": round(full["ready_s"], 2),
        "rss_empty_mb": round(empty["rss_mb"], 1),
        "rss_growth_mb_1m": round(full["rss_mb"] - empty["rss_mb"], 1),
        "jobs_per_s": round(full["jobs_per_s"], 1),
        "bare_per_s": round(full["bare_per_s"], 1),
        "jobs_vs_bare": round(full["jobs_per_s"] / full["bare_per_s"], 3),
    }


def main() -> None:
    if sys.argv[1:] == ["serve"]:
        serve()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--progress", type=int, default=99, help="TrainingProgressed events per job")
    parser.add_argument("--seconds", type=int, default=5, help="seconds of wrk per route")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.jobs, args.progress, args.seconds))))


if __name__ == "__main__":
    main()
