"""The trainer's write side: its ServiceApplication (producer "trainer"), shared by the intake and
every worker process (SQLite file beside them, or PostgreSQL when workers run on other machines).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from contracts import Envelope
from services.runtime.aggregate import restore_envelope
from services.runtime.event_store import ServiceApplication, StaleAggregateError
from services.trainer.domain import PRODUCER, Job

T = TypeVar("T")
STALE_RETRIES = 20  # a job's aggregate is written by its worker and by cancel requests: conflicts are rare


class TrainerEventStore(ServiceApplication):
    producer = PRODUCER

    def change_job(self, job_id: UUID, decide: Callable[[Job], T]) -> T:
        """Load the job, let `decide` record events on it, save; on a concurrent write, reload and decide again."""
        for _ in range(STALE_RETRIES):
            job = self.load(job_id, Job)
            result = decide(job)
            try:
                self.save_aggregates(job)
            except StaleAggregateError:
                continue
            return result
        raise StaleAggregateError(f"job {job_id} kept changing under {STALE_RETRIES} attempts to update it")

    def first_envelope(self, aggregate_id: UUID) -> Envelope:
        """The envelope of an aggregate's first event: who asked for it, and its correlation id."""
        (stored,) = self.recorder.select_events(aggregate_id, limit=1)
        domain_event: Any = self.mapper.to_domain_event(stored)
        return restore_envelope(domain_event.envelope, stored.originator_version)

    def has_news(self, aggregate_id: UUID, known_version: int) -> bool:
        """Whether someone recorded events on the aggregate after `known_version` (a cheap indexed read)."""
        return bool(self.recorder.select_events(aggregate_id, gt=known_version, limit=1))
