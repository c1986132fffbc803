"""Event-sourced aggregates record contract events and refuse stale saves."""

from __future__ import annotations

from uuid import uuid4

import pytest

from contracts.events.jobs import TrainingProgressed
from services.runtime.event_store import AggregateNotFoundError, StaleAggregateError
from tests.fakes import CAUSE, LedgerJob, ledger_app


def test_recorded_events_rebuild_the_aggregate_and_fill_the_outbox(tmp_path):
    app = ledger_app(tmp_path)
    job_id = app.request()
    app.progress(job_id, 3)

    job = app.load(job_id, LedgerJob)
    assert (job.status, job.steps, job.version) == ("running", 3, 5)
    outbox = app.outbox_after(0, 100)
    assert [pos for pos, _ in outbox] == [1, 2, 3, 4, 5]
    assert [env.aggregate_version for _, env in outbox] == [1, 2, 3, 4, 5]
    assert {env.producer for _, env in outbox} == {"testsvc"}
    assert outbox[-1][1].actor == CAUSE.actor


def test_stale_copy_cannot_be_saved(tmp_path):
    app = ledger_app(tmp_path)
    job_id = app.request()
    one = app.load(job_id, LedgerJob)
    app.progress(job_id, 1)
    one.record(TrainingProgressed(step=1, epoch=0, loss=1, learning_rate=1e-3), CAUSE)
    with pytest.raises(StaleAggregateError):
        app.save_aggregates(one)
    assert app.outbox_head() == 3  # nothing of the stale save was stored


def test_loading_a_missing_aggregate_says_which(tmp_path):
    missing = uuid4()
    with pytest.raises(AggregateNotFoundError, match=str(missing)):
        ledger_app(tmp_path).load(missing, LedgerJob)
