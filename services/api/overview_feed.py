"""Keeps the API's overview read model current: a ProjectionRunner over the trainer's and the carbon
service's job events, from the view's stored position on (the first start replays the log from
sequence 1; later ones only what the API missed while it was down).

Each API process holds its own view file and its own durable consumer, named after the file and
the host, so any number of API processes can run side by side; two processes on one file are
refused (the second would split the first's deliveries). A consumer no API has read for a day is
dropped by the server; the view then makes a new one from its own position.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from nats.aio.client import Client

from services.api.overview import OVERVIEW_FILTERS, OverviewView
from services.runtime.jetstream import ensure_stream
from services.runtime.logging import get_logger
from services.runtime.projection import ProjectionRunner

RETRY_S = 1.0
INACTIVE_S = 24 * 3600.0
log = get_logger("api.overview")


class OverviewInUseError(RuntimeError):
    pass


class FollowedOverview:
    """The overview and whether it has caught up with the log (the API is ready only then)."""

    def __init__(self, view: OverviewView) -> None:
        self.view = view
        self.caught_up = asyncio.Event()

    @property
    def ready(self) -> bool:
        return self.caught_up.is_set()


def consumer_name(path: Path) -> str:
    digest = hashlib.sha256(f"{socket.gethostname()}:{path.resolve()}".encode()).hexdigest()[:12]
    return f"api-overview-{digest}"


@contextlib.contextmanager
def held(path: Path) -> Iterator[None]:
    """Hold `path`'s lock file for as long as the view is fed from it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OverviewInUseError(
                f"another API process keeps its overview in {path}: give each API process its own "
                "GREENTUNE_API_OVERVIEW_PATH (or data dir)"
            ) from None
        yield


async def follow(nc: Client, runner: ProjectionRunner, caught_up: asyncio.Event, replicas: int) -> None:
    """Catch up with the log, say so, then apply new events for ever; after a failure, start again
    from the view's position."""
    while True:
        try:
            await ensure_stream(nc.jetstream(), replicas)  # the API may start before any other service
            await runner.start()
            await runner.catch_up(timeout=None)
            caught_up.set()
            await runner.run(asyncio.Event())  # until cancelled
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # NATS gone for a moment: the next try resumes after the last event applied
            log.warning("overview feed interrupted; resuming", error=repr(exc))
            await asyncio.sleep(RETRY_S)


@contextlib.asynccontextmanager
async def overview_followed(nc: Client, path: Path, replicas: int = 1) -> AsyncIterator[FollowedOverview]:
    with held(path):
        view = OverviewView.open(path)
        followed = FollowedOverview(view)
        runner = ProjectionRunner(
            nc, view, durable=consumer_name(path), filter_subjects=OVERVIEW_FILTERS, inactive_threshold=INACTIVE_S
        )
        task = asyncio.create_task(follow(nc, runner, followed.caught_up, replicas))
        try:
            yield followed
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await runner.close()
