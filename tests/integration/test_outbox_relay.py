"""The outbox relay publishes every stored event once, in order, whatever fails around it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from services.runtime.errors import RelayFencedError, RelayPositionError
from services.runtime.outbox import OutboxRelay
from tests.fakes import PRODUCER, LedgerApp, fill, ledger_app, producer_log, wait_until

REPO = Path(__file__).resolve().parents[2]


def outbox_event_ids(app: LedgerApp) -> list[str]:
    return [str(env.event_id) for _, env in app.outbox_after(0, 100_000)]


async def assert_log_is_exactly_the_outbox(nc, app: LedgerApp) -> None:
    log = await producer_log(nc.jetstream())
    assert [position for position, _ in log] == list(range(1, app.outbox_head() + 1)), "gap, duplicate or reorder"
    assert [event_id for _, event_id in log] == outbox_event_ids(app)


@asynccontextmanager
async def running_relay(app: LedgerApp, nc, **kwargs) -> AsyncIterator[OutboxRelay]:  # type: ignore[no-untyped-def]
    relay = OutboxRelay(app, nc, **kwargs)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop, poll_interval=0.05))
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def fault_mid_stream(app: LedgerApp, relay: OutboxRelay, fault: Callable[[], Awaitable[None]]) -> None:
    """Inject `fault` while the relay is publishing and the service keeps writing."""
    fill(app, jobs=40, steps=73)  # 3000 events, published 5 at a time

    async def keep_writing() -> None:
        for _ in range(10):
            await asyncio.to_thread(app.progress, await asyncio.to_thread(app.request), 20)

    await wait_until(lambda: _at(relay, 100), interval=0.005)
    assert relay.position < app.outbox_head(), "the fault must hit the relay mid-stream"
    writer = asyncio.create_task(keep_writing())
    await fault()
    await writer
    await wait_until(lambda: _at(relay, app.outbox_head()), timeout=120)
    assert relay.recoveries > 0, "the relay never noticed the fault"


async def test_relay_publishes_every_event_in_order_exactly_once(nc, tmp_path):
    app = ledger_app(tmp_path)
    head = fill(app, jobs=10, steps=48)

    async with running_relay(app, nc, batch_size=64) as relay:
        await wait_until(lambda: _at(relay, head))

    await assert_log_is_exactly_the_outbox(nc, app)


async def test_relay_keeps_order_when_server_is_paused_mid_stream(nats_server, nc, tmp_path):
    app = ledger_app(tmp_path)

    async def pause_two_seconds() -> None:
        nats_server.pause()
        await asyncio.sleep(2.0)
        nats_server.resume()

    async with running_relay(app, nc, batch_size=5, request_timeout=0.5) as relay:
        await fault_mid_stream(app, relay, pause_two_seconds)

    await assert_log_is_exactly_the_outbox(nc, app)


async def test_relay_keeps_order_when_server_is_killed_and_restarted_mid_stream(nats_server, nc, tmp_path):
    app = ledger_app(tmp_path)

    async def kill_and_restart() -> None:
        nats_server.kill()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(nats_server.start)

    async with running_relay(app, nc, batch_size=5, request_timeout=0.5) as relay:
        await fault_mid_stream(app, relay, kill_and_restart)

    await assert_log_is_exactly_the_outbox(nc, app)


async def test_relay_process_killed_mid_stream_resumes_where_the_log_ends(nats_server, nc, tmp_path):
    app = ledger_app(tmp_path)
    fill(app, jobs=30, steps=60)  # 1860 events, 5 per batch: still publishing when killed
    command = [sys.executable, "-m", "tests.relay_process", str(tmp_path), nats_server.url]
    first = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE)
    js = nc.jetstream()

    async def stream_count() -> int:
        return int((await js.stream_info("EVENTS")).state.messages)

    await wait_until(lambda: _greater(stream_count, 50), timeout=60)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = await stream_count()
    assert 0 < killed_at < app.outbox_head(), "the relay was not killed mid-stream"

    second = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE)
    try:
        await wait_until(lambda: _equal(stream_count, app.outbox_head()), timeout=120)
    finally:
        second.kill()
        second.wait()
    await assert_log_is_exactly_the_outbox(nc, app)


async def test_second_relay_for_the_same_producer_is_fenced_off(nc, tmp_path):
    app = ledger_app(tmp_path)
    fill(app, jobs=2, steps=5)
    zombie = OutboxRelay(app, nc)
    await zombie.recover()  # it read the (empty) log ...
    active = OutboxRelay(app, nc)
    await active.recover()
    while await active.pump_once():  # ... then another relay published everything
        pass
    fill(app, jobs=1, steps=5)

    with pytest.raises(RelayFencedError, match="another writer appended"):
        await zombie.pump_once()  # its stale append is refused, nothing is doubled

    await active.pump_once()
    await assert_log_is_exactly_the_outbox(nc, app)


async def test_two_relays_running_at_once_still_produce_one_ordered_log(nc, tmp_path):
    app = ledger_app(tmp_path)
    async with running_relay(app, nc, batch_size=3) as one, running_relay(app, nc, batch_size=5) as two:
        for _ in range(10):
            await asyncio.to_thread(app.progress, await asyncio.to_thread(app.request), 10)
        head = app.outbox_head()
        await wait_until(lambda: _any_at(head, one, two))

    await assert_log_is_exactly_the_outbox(nc, app)


async def _at(relay: OutboxRelay, head: int) -> bool:
    return relay.position >= head


async def _any_at(head: int, *relays: OutboxRelay) -> bool:
    return any(relay.position >= head for relay in relays)


async def _greater(count: Callable[[], Awaitable[int]], value: int) -> bool:
    return await count() > value


async def _equal(count: Callable[[], Awaitable[int]], value: int) -> bool:
    return await count() == value


async def test_a_relay_refuses_a_position_that_is_not_its_own_and_keeps_running(nc, tmp_path):
    app = ledger_app(tmp_path / "a")
    head = fill(app, jobs=2, steps=5)
    async with running_relay(app, nc) as relay:
        await wait_until(lambda: _at(relay, head))

    behind = ledger_app(tmp_path / "b")  # a store restored from an older backup: fewer events than the stream
    fill(behind, jobs=1, steps=1)
    with pytest.raises(RelayPositionError, match=f"past this store's head {behind.outbox_head()}"):
        await OutboxRelay(behind, nc).recover()

    js = nc.jetstream()
    forged = await js.publish(f"events.{PRODUCER}.job.x.Forged", b"{}")  # no position header: not a relay's
    fill(app, jobs=1, steps=1)
    async with running_relay(app, nc) as supervised:
        await wait_until(lambda: _refused(supervised))
        await asyncio.sleep(0.5)  # it keeps trying, and keeps refusing
        assert supervised.recoveries >= 2 and "has no Greentune-Notification-Id header" in supervised.health
    assert (await js.get_last_msg("EVENTS", f"events.{PRODUCER}.>")).seq == forged.seq, "nothing published after it"


async def _refused(relay: OutboxRelay) -> bool:
    return relay.health.startswith("refused")
