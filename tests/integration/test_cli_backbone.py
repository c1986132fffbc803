"""`greentune nats serve` starts a durable JetStream server; `greentune events tail` replays the log."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from uuid import uuid4

from click.testing import CliRunner

from contracts import Actor, Envelope
from contracts.events.jobs import JobCancelRequested
from services.cli.main import cli
from services.runtime.jetstream import connect
from services.runtime.nats_server import free_port
from services.runtime.publisher import EventPublisher


async def _publish(url: str, envelope: Envelope) -> None:
    nc = await connect(url, "test")
    await EventPublisher(nc).publish(envelope)
    await nc.close()


def test_serve_then_tail_shows_the_published_events(tmp_path):
    port = free_port()
    env = {**os.environ, "GREENTUNE_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "nats", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert "stream EVENTS in place" in server.stdout.readline()  # type: ignore[union-attr]
        url = f"nats://127.0.0.1:{port}"
        job_id = str(uuid4())
        envelope = Envelope.new(
            JobCancelRequested(reason="too slow"),
            producer="api",
            aggregate_id=job_id,
            actor=Actor(kind="cli", id="ana"),
        )
        asyncio.run(_publish(url, envelope))

        result = CliRunner().invoke(
            cli, ["events", "tail", "--subject", f"events.*.job.{job_id}.*"], env={"GREENTUNE_NATS_URL": url}
        )

        assert result.exit_code == 0, result.output
        line = json.loads(result.output.strip())
        assert line["seq"] == 1
        assert line["envelope"]["event"] == {"type": "JobCancelRequested", "version": 1, "reason": "too slow"}
        assert line["envelope"]["actor"] == {"kind": "cli", "id": "ana"}
        assert (tmp_path / "nats" / "jetstream").is_dir()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
