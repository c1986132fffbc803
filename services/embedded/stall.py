"""Notices a job that makes no progress: while a job is in flight (from its first trainer event to
JobCompleted, JobFailed or JobCancelled), no trainer event about it for `stall_s` seconds raises
JobStalledError naming the job and its last event. Carbon measurements do not count as progress.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from nats.aio.client import Client

from contracts.stream import STREAM_NAME
from contracts.subjects import parse_subject
from services.runtime.event_feed import read_events

ENDED = frozenset({"JobCompleted", "JobFailed", "JobCancelled"})
DEFAULT_STALL_S = 300.0  # seconds; the demo's job reports progress every few seconds


class JobStalledError(Exception):
    """A job in flight published no event for longer than allowed."""


async def watch_for_stalls(
    nc: Client, stall_s: float, details: Callable[[], str] = lambda: "", clock: Callable[[], float] = time.monotonic
) -> None:
    """Runs until cancelled; JobStalledError (with `details()` appended) once a job stalls. Jobs
    count from their next event on: an older, unfinished job counts once a worker takes it up."""
    in_flight: dict[str, tuple[float, str]] = {}  # job id -> (when its last event came, its type)
    after = (await nc.jetstream().stream_info(STREAM_NAME)).state.last_seq
    feed = read_events(nc, "events.trainer.job.>", after + 1, follow=True, idle_s=1.0)
    async with contextlib.aclosing(feed):
        async for stored in feed:
            now = clock()
            if stored is not None:
                parts = parse_subject(stored.subject)
                if parts.event_type in ENDED:
                    in_flight.pop(parts.aggregate_id, None)
                else:
                    in_flight[parts.aggregate_id] = (now, parts.event_type)
            for job_id, (seen, last) in in_flight.items():
                if now - seen > stall_s:
                    raise JobStalledError(
                        f"job {job_id} made no progress for {now - seen:.0f} s (its last event: {last}); "
                        f"GREENTUNE_DEMO_STALL_SECONDS (now {stall_s:.0f}) sets how long that may be.\n{details()}"
                    )
