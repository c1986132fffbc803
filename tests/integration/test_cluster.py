"""The 3-node cluster of infra/nats/cluster keeps every acknowledged event when a node dies mid-stream."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import uuid4

import pytest
from nats.js.api import DeliverPolicy

from contracts import Actor, Envelope, decode_envelope
from contracts.events.jobs import TrainingProgressed
from services.runtime.jetstream import connect, ensure_stream
from services.runtime.nats_server import NatsServer
from services.runtime.publisher import EventPublisher

CLUSTER = Path(__file__).resolve().parents[2] / "infra" / "nats" / "cluster"
EVENTS = 2000
WRITERS = 8


@pytest.fixture
def cluster(tmp_path):  # type: ignore[no-untyped-def]
    nodes = [NatsServer(store_dir=tmp_path / f"node-{i}", config_file=CLUSTER / f"node-{i}.conf") for i in (1, 2, 3)]
    for node in nodes:
        node.start()
    yield nodes
    for node in nodes:
        node.stop()


async def _ensure_r3_stream(url: str) -> None:
    nc = await connect(url, "cluster-setup")
    async with asyncio.timeout(60):
        while True:  # the meta leader is elected a moment after the servers answer
            try:
                await ensure_stream(nc.jetstream(), replicas=3)
                break
            except Exception:
                await asyncio.sleep(0.5)
    info = await nc.jetstream().stream_info("EVENTS")
    assert info.config.num_replicas == 3
    await nc.close()


def _progress(job_id: str, step: int) -> Envelope:
    event = TrainingProgressed(step=step, epoch=0.0, loss=1.0, learning_rate=1e-3)
    return Envelope.new(event, producer="trainer", aggregate_id=job_id, actor=Actor(kind="system", id="test"))


async def test_r3_stream_keeps_every_acknowledged_event_when_a_node_is_killed(cluster):
    url = ",".join(node.url for node in cluster)
    await _ensure_r3_stream(url)
    nc = await connect(url, "cluster-writer")
    publisher = EventPublisher(nc, timeout=2.0, give_up_after=60)
    job_id = str(uuid4())
    acknowledged: set[str] = set()
    counter = iter(range(1, EVENTS + 1))
    victim = next(node for node in cluster if node.port == nc.connected_url.port)  # the client's own node

    async def writer() -> None:
        for step in counter:
            envelope = _progress(job_id, step)
            await publisher.publish(envelope)
            acknowledged.add(str(envelope.event_id))
            if len(acknowledged) == EVENTS // 4:
                victim.kill()

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    assert len(acknowledged) == EVENTS
    assert not victim.running

    stored = await _read_all(nc)
    await nc.close()
    assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged events are missing"


async def _read_all(nc) -> set[str]:  # type: ignore[no-untyped-def]
    js = nc.jetstream()
    async with asyncio.timeout(60):
        while True:  # creating a consumer right after a node died can time out for a few seconds
            try:
                sub = await js.subscribe("events.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
                break
            except Exception:
                await asyncio.sleep(0.5)
    seen: set[str] = set()
    while True:
        msg = await sub.next_msg(timeout=10)
        seen.add(str(decode_envelope(msg.data).event_id))
        if msg.metadata.num_pending == 0:
            break
    await sub.unsubscribe()
    return seen
