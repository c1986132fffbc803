"""A read model used by the projection tests: one row per job, counting the events applied to it."""

from __future__ import annotations

from typing import ClassVar

from eventsourcing.sqlite import SQLiteCursor

from contracts import Envelope
from contracts.events.jobs import JobQueued, JobRequested, TrainingProgressed
from services.runtime.views import SQLiteView


class JobBoard(SQLiteView):
    name = "job_board"
    tables: ClassVar[dict[str, str]] = {
        "jobs": "CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, status TEXT, step INTEGER, events INTEGER)"
    }

    def project(self, cursor: SQLiteCursor, envelope: Envelope, position: int) -> None:
        job_id = envelope.aggregate_id
        match envelope.event:
            case JobRequested():
                cursor.execute("INSERT INTO jobs VALUES (?, 'requested', 0, 1)", (job_id,))
            case JobQueued():
                cursor.execute("UPDATE jobs SET status='queued', events=events+1 WHERE job_id=?", (job_id,))
            case TrainingProgressed(step=step):
                # events+1 is not idempotent on purpose: an event applied twice shows up here.
                cursor.execute(
                    "UPDATE jobs SET status='running', step=?, events=events+1 WHERE job_id=?", (step, job_id)
                )

    def rows(self) -> list[dict[str, object]]:
        return self.query("SELECT * FROM jobs ORDER BY job_id")


class FlakyJobBoard(JobBoard):
    """Fails the first `failures` batches it is given, as a view hitting a locked database would."""

    failures = 2

    def apply(self, items):  # type: ignore[no-untyped-def]
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("simulated view failure")
        return super().apply(items)
