"""Publish EmissionsMeasured for one subject (a job or an inference engine): an interval every
`interval_seconds`, one on demand (`sample_now`), and a final one at `stop()`.

Each event is the delta between two cumulative readings of the process's meter, so nothing is
lost when a publish fails: the interval stays pending and is sent again, with the same Msg-Id,
before anything newer. Sequence numbers continue from the subject's last event in the stream,
so a job resumed by another worker keeps numbering 1, 2, 3... If that last event is not `final`,
the run before ended killed: its time since that interval was measured by nobody, and `start()`
publishes EmissionsUnmeasured for it (a dead process's meter cannot be read back).

    reporter = EmissionsReporter(JetStreamEmissionsLog(nc), meter, grid, pue=1.2, interval_seconds=10)
    async with reporter.measuring(MeteredSubject.job(job_id, actor)):
        ...train...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Protocol

from contracts import Envelope
from contracts.events.carbon import EmissionsMeasured, EmissionsUnmeasured
from services.carbon.domain import PRODUCER, CarbonError, MeteredSubject, interval_event
from services.carbon.ports import EventAppender, GridIntensity
from services.runtime.energy import EnergyMeter, EnergyReading
from services.runtime.logging import get_logger


class EmissionsLog(EventAppender, Protocol):
    async def last_measured(self, aggregate_type: str, aggregate_id: str) -> Envelope | None: ...


class EmissionsReporter:
    def __init__(
        self, events: EmissionsLog, meter: EnergyMeter, grid: GridIntensity, *, pue: float, interval_seconds: float
    ) -> None:
        self.events, self.meter, self.grid = events, meter, grid
        self.pue = pue
        self.interval_seconds = interval_seconds
        self.published: list[EmissionsMeasured] = []  # this run's events, in order
        self.unmeasured: EmissionsUnmeasured | None = None  # the gap this run found before it, if any
        self._subject: MeteredSubject | None = None
        self._baseline: EnergyReading | None = None
        self._pending: Envelope | None = None  # built, maybe stored, not yet acknowledged
        self._pending_reading: EnergyReading | None = None
        self._sequence = 0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.logger = get_logger("carbon.reporter")

    @contextlib.asynccontextmanager
    async def measuring(self, subject: MeteredSubject) -> AsyncIterator[EmissionsReporter]:
        await self.start(subject)
        try:
            yield self
        finally:
            await self.stop()

    async def start(self, subject: MeteredSubject) -> None:
        if self._subject is not None:
            raise CarbonError(f"already measuring {self._subject.aggregate_type} {self._subject.aggregate_id}")
        await asyncio.to_thread(self.meter.start)  # idempotent; the process stops the meter at exit
        self.grid.current()  # fail now, not at the first interval, on a bad country/region
        last = await self.events.last_measured(subject.aggregate_type, subject.aggregate_id)
        self._sequence = last.event.sequence if last and isinstance(last.event, EmissionsMeasured) else 0
        self._subject, self.published, self.unmeasured = subject, [], None
        self._baseline = await asyncio.to_thread(self.meter.read)
        if last is not None and isinstance(last.event, EmissionsMeasured) and not last.event.final:
            try:
                await self._mark_unmeasured(last)
            except Exception:  # nothing started: the caller may start again
                self._subject = None
                raise
        self._stop.clear()
        self._task = asyncio.create_task(self._run())

    async def _mark_unmeasured(self, last: Envelope) -> None:
        """The previous run died after `last`: publish the time nobody measured, up to this run's baseline."""
        assert isinstance(last.event, EmissionsMeasured)
        seconds = max((datetime.now(UTC) - last.occurred_at).total_seconds(), 0.0)  # clocks of two hosts
        gap = EmissionsUnmeasured(after_sequence=last.event.sequence, unmeasured_seconds=seconds)
        await self.events.publish(self._envelope(gap))
        self.unmeasured = gap
        self.logger.warning(
            "the previous run ended without its final measurement", after_sequence=gap.after_sequence, seconds=seconds
        )

    async def sample_now(self) -> EmissionsMeasured:
        """Close the current interval now and publish it (e.g. at a training phase boundary)."""
        return await self._publish_interval(final=False)

    async def stop(self) -> EmissionsMeasured:
        """Publish the final interval and stop; raises BusUnavailableError if it cannot be stored."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        try:
            return await self._publish_interval(final=True)
        finally:
            self._subject = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval_seconds)
            if self._stop.is_set():
                return
            try:
                await self._publish_interval(final=False)
            except Exception as exc:  # the interval stays pending; the next tick sends it first
                self.logger.warning("emissions interval not published yet", error=str(exc))

    async def _publish_interval(self, final: bool) -> EmissionsMeasured:
        async with self._lock:
            if self._pending is not None:
                await self._send_pending()
            assert self._subject is not None and self._baseline is not None, "start() first"
            reading = await asyncio.to_thread(self.meter.read)  # the process owns the meter: never stopped here
            event = interval_event(
                self._baseline,
                reading,
                sequence=self._sequence + 1,
                final=final,
                intensity=self.grid.current(),
                pue=self.pue,
            )
            self._pending, self._pending_reading = self._envelope(event), reading
            await self._send_pending()
            return event

    async def _send_pending(self) -> None:
        assert self._pending is not None and self._subject is not None
        try:
            await self.events.publish(self._pending)
        except Exception:
            last = await self.events.last_measured(self._subject.aggregate_type, self._subject.aggregate_id)
            if last is None or last.event_id != self._pending.event_id:
                raise
        event = self._pending.event
        assert isinstance(event, EmissionsMeasured)
        self.published.append(event)
        self._sequence, self._baseline = event.sequence, self._pending_reading
        self._pending = self._pending_reading = None

    def _envelope(self, event: EmissionsMeasured | EmissionsUnmeasured) -> Envelope:
        subject = self._subject
        assert subject is not None
        return Envelope.new(
            event,
            producer=PRODUCER,
            aggregate_type=subject.aggregate_type,
            aggregate_id=subject.aggregate_id,
            actor=subject.actor,
            correlation_id=subject.correlation_id,
        )
