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


async def follow(nc: Client, overview: Overview, subject: str) -> None:
    """Apply every event on `subject` to `overview`, for ever; after a broken feed, resume where it stopped."""
    next_sequence = 1
    while True:
        try:
            events = read_events(nc, subject, next_sequence, follow=True)
            async with contextlib.aclosing(events):
                async for stored in events:
                    if stored is None:
                        continue
                    next_sequence = stored.sequence + 1
                    try:
                        overview.apply(decode_envelope(stored.data))
                    except ContractError as exc:  # a newer producer's event type: skipped, as projections do
                        log.error("skipping unreadable event", sequence=stored.sequence, error=str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # NATS gone for a moment: the next try resumes after the last event applied
            log.warning("overview feed interrupted; resuming", subject=subject, error=repr(exc))
            await asyncio.sleep(RETRY_S)


@contextlib.asynccontextmanager
async def overview_followed(nc: Client) -> AsyncIterator[Overview]:
    overview = Overview()
    tasks = [asyncio.create_task(follow(nc, overview, subject)) for subject in SUBJECTS]
    try:
        yield overview
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
