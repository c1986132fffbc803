"""A read model built live, through failures and redeliveries, equals one rebuilt from sequence 1;
one whose stream was recreated under it is rebuilt from the new stream, not read on from its old position;
a forged envelope (another producer's event under its subject) and a poison event (one the view fails
on every time) are parked on the dead-letter stream with the reason, and the events after them apply."""

from __future__ import annotations

import asyncio
import sqlite3

from nats.js.api import DeliverPolicy

from contracts import Actor, Envelope, encode_envelope
from contracts.events.jobs import TrainingProgressed
from contracts.stream import HEADER_DEAD_LETTER_REASON, HEADER_ORIGINAL_SEQUENCE, HEADER_ORIGINAL_SUBJECT, STREAM_NAME
from services.runtime.jetstream import connect, ensure_stream
from services.runtime.outbox import OutboxRelay
from services.runtime.projection import ProjectionRunner
from tests.fakes import fill, ledger_app
from tests.views import FlakyJobBoard, JobBoard

JOBS, STEPS = 12, 30


async def publish_all(app, nc) -> None:  # type: ignore[no-untyped-def]
    relay = OutboxRelay(app, nc, batch_size=50)
    await relay.recover()
    while await relay.pump_once():
        pass


async def test_live_view_with_redeliveries_equals_view_rebuilt_from_sequence_one(nats_server, nc, tmp_path):
    app = ledger_app(tmp_path)
    fill(app, jobs=JOBS // 2, steps=STEPS)
    await publish_all(app, nc)

    # 1. A worker applies one batch and dies before acknowledging it.
    crashed = await connect(nats_server.url, "crashing-projection")
    doomed = ProjectionRunner(
        crashed, JobBoard.open(tmp_path / "live.sqlite"), durable="board", batch_size=40, ack_wait=1.0
    )
    await doomed.start()
    batch = await doomed._sub.fetch(40, timeout=2)  # type: ignore[union-attr]
    items = await doomed._decode(batch)
    await asyncio.to_thread(doomed.view.apply, [(sequence, envelope) for _, sequence, envelope in items])
    await crashed.close()  # no ack: JetStream redelivers those 40 after ack_wait

    # 2. Its replacement meets a failing view (nak, redelivery), then catches up, live.
    live_view = FlakyJobBoard.open(tmp_path / "live.sqlite")
    live = ProjectionRunner(nc, live_view, durable="board", batch_size=40, ack_wait=1.0)
    stop = asyncio.Event()
    task = asyncio.create_task(live.run(stop))
    fill(app, jobs=JOBS // 2, steps=STEPS)
    await publish_all(app, nc)
    await _wait_for_position(live_view, app.outbox_head())
    stop.set()
    await task
    assert live_view.failures == 0, "the failing batches were never retried"

    # 3. A fresh view replays the whole stream.
    rebuilt_view = JobBoard.open(tmp_path / "rebuilt.sqlite")
    rebuilt = ProjectionRunner(nc, rebuilt_view, durable="board-rebuild", batch_size=500)
    await rebuilt.rebuild()

    expected_events_per_job = 2 + STEPS
    assert len(live_view.rows()) == JOBS
    assert all(row["events"] == expected_events_per_job for row in live_view.rows()), "an event applied twice"
    assert live_view.rows() == rebuilt_view.rows()
    assert rebuilt_view.position() == live_view.position() == app.outbox_head()


async def test_rebuild_replaces_whatever_the_view_held(nc, tmp_path):
    app = ledger_app(tmp_path)
    fill(app, jobs=3, steps=4)
    await publish_all(app, nc)
    view = JobBoard.open(tmp_path / "view.sqlite")
    runner = ProjectionRunner(nc, view, durable="board")
    await runner.start()
    await runner.catch_up()
    before = view.rows()
    with sqlite3.connect(tmp_path / "view.sqlite") as db:  # a read model damaged by a bug
        db.execute("UPDATE jobs SET status='corrupted'")
    assert view.rows() != before

    await runner.rebuild()

    assert view.rows() == before


async def test_a_stream_recreated_under_a_view_is_noticed_and_the_view_rebuilt_from_it(nc, tmp_path):
    old_log = ledger_app(tmp_path / "old")
    fill(old_log, jobs=3, steps=4)
    await publish_all(old_log, nc)
    view = JobBoard.open(tmp_path / "view.sqlite")
    runner = ProjectionRunner(nc, view, durable="board")
    await runner.start()
    await runner.catch_up()
    assert len(view.rows()) == 3

    js = nc.jetstream()
    await js.delete_stream(STREAM_NAME)  # an operator recreates the stream: its sequences start again at 1
    await ensure_stream(js)
    new_log = ledger_app(tmp_path / "new")
    fill(new_log, jobs=1, steps=2)
    await publish_all(new_log, nc)

    restarted = ProjectionRunner(nc, view, durable="board")
    await restarted.start()
    await restarted.catch_up()
    assert len(view.rows()) == 1, "the old stream's jobs are gone, the new one's is there"
    assert view.position() == new_log.outbox_head()


async def _wait_for_position(view, position: int, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while await asyncio.to_thread(view.position) < position:
            await asyncio.sleep(0.05)


async def test_a_forged_envelope_is_skipped_and_the_events_after_it_still_apply(nc, tmp_path):
    log = ledger_app(tmp_path / "log")
    fill(log, jobs=1, steps=2)
    await publish_all(log, nc)
    view = JobBoard.open(tmp_path / "view.sqlite")
    runner = ProjectionRunner(nc, view, durable="board")
    await runner.start()
    await runner.catch_up()
    [genuine] = view.rows()

    # a client allowed to publish as the inference service writes a trainer event about that job
    forged = Envelope.new(
        TrainingProgressed(step=99, max_steps=99, epoch=1.0, loss=0.1, learning_rate=1e-4, tokens_per_second=1.0),
        producer="inference", aggregate_type="job", aggregate_id=str(genuine["job_id"]),
        actor=Actor(kind="system", id="forger"),
    )  # fmt: skip
    wrong_subject = forged.subject.replace("events.inference.", "events.trainer.")
    await nc.jetstream().publish(wrong_subject, encode_envelope(forged))
    fill(log, jobs=1, steps=2)  # then genuine events
    await publish_all(log, nc)
    await runner.catch_up()

    rows = {row["job_id"]: row for row in view.rows()}
    assert rows[genuine["job_id"]] == genuine, "the forged progress changed nothing"
    assert len(rows) == 2 and view.position() == (await nc.jetstream().stream_info(STREAM_NAME)).state.last_seq
    (parked,) = await dead_letters(nc)
    assert parked.headers is not None and parked.headers[HEADER_ORIGINAL_SUBJECT] == wrong_subject
    assert "claims to be events.inference." in parked.headers[
        HEADER_DEAD_LETTER_REASON
    ] and parked.data == encode_envelope(forged)


class PoisonedJobBoard(JobBoard):
    """Fails on the stream's first event, for ever: a bug in the view that only that event triggers."""

    def apply(self, items):  # type: ignore[no-untyped-def]
        if any(sequence == 1 for sequence, _ in items):
            raise ValueError("simulated bug: this event breaks the view")
        return super().apply(items)


async def dead_letters(nc) -> list:  # type: ignore[no-untyped-def, type-arg]
    sub = await nc.jetstream().subscribe("deadletter.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    parked = []
    try:
        while True:
            parked.append(await sub.next_msg(timeout=1.0))
    except TimeoutError:
        return parked
    finally:
        await sub.unsubscribe()


async def test_a_poison_event_is_parked_after_n_deliveries_and_the_events_after_it_still_apply(nc, tmp_path):
    log = ledger_app(tmp_path / "log")
    fill(log, jobs=3, steps=1)  # the first job's JobRequested (sequence 1) is the poison
    await publish_all(log, nc)
    view = PoisonedJobBoard.open(tmp_path / "view.sqlite")
    runner = ProjectionRunner(nc, view, durable="board", batch_size=10, poison_after=3)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    head = (await nc.jetstream().stream_info(STREAM_NAME)).state.last_seq
    await _wait_for_position(view, head)
    stop.set()
    await task

    parked = await dead_letters(nc)
    assert [m.headers[HEADER_ORIGINAL_SEQUENCE] for m in parked] == ["1"], "only the poison event is parked"
    reason = parked[0].headers[HEADER_DEAD_LETTER_REASON]
    assert reason.startswith("the view failed on it 3 times") and "this event breaks the view" in reason
    assert parked[0].subject == "deadletter.board.1"
    assert len(view.rows()) == 2, "the two jobs after the poison event are in the view"
    assert all(row["events"] == 3 for row in view.rows()), "every later event applied once"
