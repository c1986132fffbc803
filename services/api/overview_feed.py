"""Keeps the API's Overview current: replays the trainer's and the carbon service's job events from
the first, then follows them. Each API process holds its own copy (ordered consumers, nothing
acknowledged), so any number of API processes can run side by side."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from nats.aio.client import Client

from contracts import ContractError, decode_envelope
from services.api.overview import Overview
from services.runtime.event_feed import read_events
from services.runtime.logging import get_logger

SUBJECTS = ("events.trainer.>", "events.carbon.job.>")
RETRY_S = 1.0
log = get_logger("api.overview")


async def follow(nc: Client, overview: Overview, subject: str, caught_up: asyncio.Event) -> None:
    """Apply every event on `subject` to `overview`, for ever; after a broken feed, resume where it stopped.
    `caught_up` is set once every event the subject held at the start has been applied."""
    next_sequence = 1
    while True:
        try:
            events = read_events(nc, subject, next_sequence, follow=True)
            async with contextlib.aclosing(events):
                async for stored in events:
                    if stored is None:  # a quiet subject: nothing (more) to replay
                        caught_up.set()
                        continue
                    next_sequence = stored.sequence + 1
                    if stored.pending == 0:
                        caught_up.set()
                    try:
                        overview.apply(decode_envelope(stored.data))
                    except ContractError as exc:  # a newer producer's event type: skipped, as projections do
                        log.error("skipping unreadable event", sequence=stored.sequence, error=str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # NATS gone for a moment: the next try resumes after the last event applied
            log.warning("overview feed interrupted; resuming", subject=subject, error=repr(exc))
            await asyncio.sleep(RETRY_S)


class FollowedOverview:
    """The overview and whether its replay of the log has caught up (the API is ready only then)."""

    def __init__(self) -> None:
        self.overview = Overview()
        self.caught_up = {subject: asyncio.Event() for subject in SUBJECTS}

    @property
    def ready(self) -> bool:
        return all(event.is_set() for event in self.caught_up.values())


@contextlib.asynccontextmanager
async def overview_followed(nc: Client) -> AsyncIterator[FollowedOverview]:
    followed = FollowedOverview()
    tasks = [
        asyncio.create_task(follow(nc, followed.overview, subject, followed.caught_up[subject])) for subject in SUBJECTS
    ]
    try:
        yield followed
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
