"""`greentune nats serve` starts a durable JetStream server with the stack's identities (written under
the data dir); `greentune events tail`, given them, replays the log."""

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
from services.runtime.jetstream import NatsAccess, connect
from services.runtime.nats_server import free_port
from services.runtime.publisher import EventPublisher


async def _publish(url: str, envelope: Envelope, access: NatsAccess) -> None:
    nc = await connect(url, "test", identity="trainer", access=access)
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
        credentials = tmp_path / "nats" / "identities.json"
        assert f"GREENTUNE_NATS_CREDENTIALS={credentials}" in server.stdout.readline()  # type: ignore[union-attr]
        url = f"nats://127.0.0.1:{port}"
        job_id = str(uuid4())
        envelope = Envelope.new(
            JobCancelRequested(reason="too slow"),
            producer="trainer",
            aggregate_id=job_id,
            actor=Actor(kind="cli", id="ana"),
        )
        asyncio.run(_publish(url, envelope, NatsAccess(credentials=credentials)))

        tail = ["events", "tail", "--subject", f"events.*.job.{job_id}.*"]
        result = CliRunner().invoke(
            cli, tail, env={"GREENTUNE_NATS_URL": url, "GREENTUNE_NATS_CREDENTIALS": str(credentials)}
        )

        assert result.exit_code == 0, result.output
        line = json.loads(result.output.strip())
        assert line["seq"] == 1
        assert line["envelope"]["event"] == {"type": "JobCancelRequested", "version": 1, "reason": "too slow"}
        assert line["envelope"]["actor"] == {"kind": "cli", "id": "ana", "tenant": None, "role": None}
        assert (tmp_path / "nats" / "jetstream").is_dir()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
