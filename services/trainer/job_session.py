"""One worker's run of one job: records its events, keeps its training.log, watches for cancellation.

Used from the training thread. The job aggregate stays in memory; a save that meets a concurrent
write (a cancel request) reloads it and records again. If the job has meanwhile been started by
another worker (this one was presumed dead), the run stops with LeaseLostError and records nothing.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from contracts import DomainEvent
from services.runtime.aggregate import Causation
from services.runtime.event_store import StaleAggregateError
from services.trainer.domain import Job
from services.trainer.errors import LeaseLostError
from services.trainer.event_store import STALE_RETRIES, TrainerEventStore


class JobSession:
    def __init__(
        self, app: TrainerEventStore, job_id: UUID, worker_id: str, log_path: Path, poll_seconds: float
    ) -> None:
        self.app, self.job_id, self.worker_id = app, job_id, worker_id
        self.job = app.load(job_id, Job)
        first = app.first_envelope(job_id)
        self.cause = Causation.system(f"trainer-worker:{worker_id}", correlation_id=first.correlation_id)
        self.attempt: int | None = None  # set once this run has recorded JobStarted
        self.log_path = log_path
        self.poll_seconds = poll_seconds
        self._last_poll = 0.0

    def start(self, device: str, resumed_from: int | None, max_steps: int) -> int:
        def begin(job: Job) -> None:
            self.attempt = job.begin_attempt(self.worker_id, device, resumed_from, max_steps, self.cause)

        self._change(begin)
        assert self.attempt is not None
        return self.attempt

    def record(self, *events: DomainEvent) -> None:
        def add(job: Job) -> None:
            for event in events:
                job.record(event, self.cause)

        self._change(add)
        for event in events:
            self.log("event", **event.model_dump(mode="json"))

    def cancel_requested(self) -> bool:
        """True once somebody asked to cancel; reads the store at most every `poll_seconds`."""
        now = time.monotonic()
        if not self.job.cancel_requested and now - self._last_poll >= self.poll_seconds:
            self._last_poll = now
            if self.app.has_news(self.job_id, self.job.version):
                self._reload()
        return self.job.cancel_requested

    def log(self, kind: str, **fields: Any) -> None:
        """Append one JSON line to training.log."""
        line = {"time": datetime.now(UTC).isoformat(), "kind": kind, "attempt": self.attempt, **fields}
        with open(self.log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    def _change(self, decide: Any) -> None:
        for _ in range(STALE_RETRIES):
            decide(self.job)
            try:
                self.app.save_aggregates(self.job)
                return
            except StaleAggregateError:
                self._reload()
        raise StaleAggregateError(f"job {self.job_id} kept changing while this worker recorded its events")

    def _reload(self) -> None:
        self.job = self.app.load(self.job_id, Job)
        if self.attempt is not None and self.job.attempts != self.attempt:
            raise LeaseLostError(f"job {self.job_id} was started again (attempt {self.job.attempts}) by another worker")
