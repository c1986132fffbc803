"""The write side behaves the same on SQLite (the embedded default) and PostgreSQL (scaled)."""

from __future__ import annotations

import pytest

from contracts.events.jobs import TrainingProgressed
from services.runtime.event_store import StaleAggregateError
from services.runtime.outbox import OutboxRelay
from services.runtime.settings import KernelSettings
from tests.fakes import CAUSE, LedgerApp, LedgerJob, producer_log


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path) -> KernelSettings:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return KernelSettings(data_dir=tmp_path)
    dsn = request.getfixturevalue("postgres_dsn")
    return KernelSettings(data_dir=tmp_path, event_store="postgres", postgres_dsn=dsn)


async def test_store_refuses_stale_saves_and_its_outbox_reaches_the_stream_in_order(settings, nc):
    app = LedgerApp(settings)
    job_id = app.request()
    stale = app.load(job_id, LedgerJob)
    app.progress(job_id, 3)
    stale.record(TrainingProgressed(step=1, epoch=0, loss=1, learning_rate=1e-3), CAUSE)
    with pytest.raises(StaleAggregateError):
        app.save_aggregates(stale)

    reopened = LedgerApp(settings)  # a restarted service sees what was stored
    assert reopened.load(job_id, LedgerJob).steps == 3
    relay = OutboxRelay(reopened, nc)
    await relay.recover()
    await relay.pump_once()
    assert [position for position, _ in await producer_log(nc.jetstream())] == [1, 2, 3, 4, 5]
