"""The reporter publishes a subject's energy as numbered intervals and a final one; the events add
up to what the meter measured, nothing is lost when a publish fails, a restart keeps numbering."""

from __future__ import annotations

from uuid import uuid4

import pytest

from contracts import Envelope, decode_envelope
from contracts.events.carbon import EmissionsMeasured
from services.carbon.adapters.codecarbon_grid import CodeCarbonGrid
from services.carbon.adapters.emissions_log import JetStreamEmissionsLog
from services.carbon.domain import MeteredSubject
from services.carbon.reporter import EmissionsReporter
from services.runtime.errors import BusUnavailableError
from services.runtime.event_feed import read_events
from tests.carbon.conftest import ALICE, busy

PUE = 1.3


async def stored_intervals(nc, subject_type: str, subject_id: str) -> list[Envelope]:  # type: ignore[no-untyped-def]
    subject = f"events.carbon.{subject_type}.{subject_id}.EmissionsMeasured"
    return [decode_envelope(e.data) async for e in read_events(nc, subject) if e is not None]


def reporter(nc, meter, grid=None, interval=0.3):  # type: ignore[no-untyped-def]
    return EmissionsReporter(
        JetStreamEmissionsLog(nc), meter, grid or CodeCarbonGrid("FRA"), pue=PUE, interval_seconds=interval
    )


async def test_intervals_are_numbered_labelled_and_add_up_to_the_metered_energy(nc, meter):
    job_id = str(uuid4())
    before = meter.read()
    async with reporter(nc, meter).measuring(MeteredSubject.job(job_id, ALICE)) as measured:
        await busy(1.5)
    after = meter.read()

    events = [env.event for env in await stored_intervals(nc, "job", job_id)]
    assert events == measured.published
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert len(events) >= 3, "a 1.5 s run at 0.3 s intervals has several intervals"
    assert [e.final for e in events] == [False] * (len(events) - 1) + [True]
    # The reporter's own baseline and final reading fall inside [before, after] (a NATS round trip apart).
    outer = (after.energy_kwh - before.energy_kwh) * PUE
    assert 0.8 * outer < sum(e.energy_kwh for e in events) <= outer
    assert sum(e.duration_seconds for e in events) >= 1.5
    for e in events:
        assert e.cpu.method != "none" and e.ram.method == "constant_estimate" and e.cpu.detail
        assert e.intensity_source.startswith("CodeCarbon") and not e.intensity_is_fallback
        assert e.emissions_g == pytest.approx(e.energy_kwh * e.carbon_intensity_g_per_kwh)
        assert e.pue == PUE and e.country_iso_code == "FRA"


async def test_without_a_country_every_interval_is_flagged_as_fallback(nc, meter):
    engine_id = f"engine-{uuid4().hex[:8]}"
    async with reporter(nc, meter, CodeCarbonGrid(None)).measuring(MeteredSubject.engine(engine_id)):
        await busy(0.5)

    events = [env.event for env in await stored_intervals(nc, "engine", engine_id)]
    assert events and all(e.intensity_is_fallback and "world average" in e.intensity_source for e in events)
    assert all(e.country_iso_code is None for e in events)


async def test_a_restarted_job_continues_the_sequence(nc, meter):
    job_id = str(uuid4())
    for _ in range(2):  # e.g. the job is redelivered to another worker
        async with reporter(nc, meter, interval=60).measuring(MeteredSubject.job(job_id, ALICE)) as measured:
            await measured.sample_now()

    assert [env.event.sequence for env in await stored_intervals(nc, "job", job_id)] == [1, 2, 3, 4]


class FlakyLog(JetStreamEmissionsLog):
    """Refuses the first `failures` publishes, as a bus outage would."""

    failures = 2

    async def publish(self, envelope, expected_last_sequence=None):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise BusUnavailableError("simulated outage")
        return await super().publish(envelope, expected_last_sequence)


async def test_an_interval_that_failed_to_publish_is_sent_later_and_nothing_is_lost(nc, meter):
    job_id = str(uuid4())
    flaky = EmissionsReporter(FlakyLog(nc), meter, CodeCarbonGrid("FRA"), pue=PUE, interval_seconds=60)
    before = meter.read()
    await flaky.start(MeteredSubject.job(job_id, ALICE))
    for _ in range(2):
        with pytest.raises(BusUnavailableError):
            await flaky.sample_now()
    await busy(0.3)
    await flaky.stop()
    after = meter.read()

    events = [env.event for env in await stored_intervals(nc, "job", job_id)]
    assert [(e.sequence, e.final) for e in events] == [(1, False), (2, True)]
    outer = (after.energy_kwh - before.energy_kwh) * PUE
    assert 0.8 * outer < sum(e.energy_kwh for e in events) <= outer, "the failed intervals' energy was lost"
    assert isinstance(events[0], EmissionsMeasured)
