"""Upload benchmark: a large JSONL dataset through `POST /api/v1/datasets`, and how much the API
gateway's and the trainer intake's memory grow while they store and validate it.

    python bench/uploads.py [--megabytes 200]

A private nats-server, the trainer intake (`greentune jobs serve`) and the API (`greentune api
serve`), each its own process sharing one data dir (local artifact store), as `greentune up` runs
them. After a small warm-up upload, each process's peak RSS is reset (/proc/<pid>/clear_refs) and
the file is streamed from disk by httpx; growth = peak RSS during the upload - RSS before it.
Rows are OpenAI `messages` chats of ~500 bytes, every one distinct (datasets are content-addressed).
Target: under 150 MB growth for each process at 200 MB. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.servers import spawn, stop, wait_healthy
from services.runtime.nats_server import NatsServer, free_port

MIB = 1 << 20


def write_dataset(path: Path, megabytes: int) -> int:
    """A JSONL file of `megabytes` MiB of distinct two-turn chats; returns its row count."""
    rows = 0
    with open(path, "w", encoding="utf-8") as out:
        while out.tell() < megabytes * MIB:
            question = f"Question {rows}: what does the code word {rows:08x} stand for, in one sentence?"
            answer = f"The code word {rows:08x} stands for row {rows} of this benchmark. " + "It is filler. " * 24
            chat = {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}
            out.write(json.dumps(chat) + "\n")
            rows += 1
    return rows


def rss_kib(pid: int, field: str) -> int:
    """VmRSS or VmHWM (peak) of a process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def reset_peak(pid: int) -> int:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    return rss_kib(pid, "VmRSS")


async def upload(url: str, path: Path) -> tuple[float, dict[str, Any]]:
    import httpx

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=3600) as client:
        with open(path, "rb") as handle:
            reply = await client.post(f"{url}/api/v1/datasets", files={"file": (path.name, handle)})
    if reply.status_code != 201:
        raise RuntimeError(f"upload of {path.name} refused: {reply.status_code} {reply.text[:2000]}")
    return time.perf_counter() - started, dict(reply.json())


async def run(megabytes: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="greentune-bench-uploads-"))
    big, small = work / "big.jsonl", work / "warm-up.jsonl"
    rows = write_dataset(big, megabytes)
    write_dataset(small, 1)
    server = NatsServer(store_dir=work / "nats").start()
    port = free_port()
    env = {**os.environ, "GREENTUNE_NATS_URL": server.url, "GREENTUNE_DATA_DIR": str(work / "data"),
           "GREENTUNE_API_PORT": str(port), "GREENTUNE_LOG_LEVEL": "warning"}  # fmt: skip
    cli = [sys.executable, "-m", "services.cli.main"]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        processes["trainer"] = spawn([*cli, "jobs", "serve"], env, work / "trainer.log")
        processes["api"] = spawn([*cli, "api", "serve"], env, work / "api.log")
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(f"{url}/healthz", processes["api"], work / "api.log")
        await upload(url, small)  # warm-up: imports, first validation
        before = {name: reset_peak(p.pid) for name, p in processes.items()}
        seconds, stored = await upload(url, big)
        growth = {name: (rss_kib(p.pid, "VmHWM") - before[name]) / 1024 for name, p in processes.items()}
    finally:
        for process in processes.values():
            stop(process)
        server.stop()
    if stored["rows"] != rows or not stored["valid"]:
        raise RuntimeError(f"expected {rows} valid rows, the trainer answered {stored}")
    size_mb = big.stat().st_size / MIB
    print(f"{size_mb:.0f} MiB, {rows:,} rows stored and validated in {seconds:.1f} s ({size_mb / seconds:.1f} MiB/s)")
    for name, mb in growth.items():
        print(f"  {name}: peak RSS {mb:+.0f} MiB over its RSS before the upload")
    return {
        "upload_mb": round(size_mb),
        "rows": rows,
        "upload_s": round(seconds, 1),
        "api_rss_growth_mb": round(growth["api"], 1),
        "trainer_rss_growth_mb": round(growth["trainer"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.megabytes))))


if __name__ == "__main__":
    main()
