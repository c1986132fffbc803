"""Publish the service's events in the background: a bounded queue drained by a few publishers.

A request never waits for JetStream; it only waits when the queue is full (JetStream down for a
long while), which slows the service instead of dropping events. Each event keeps its envelope,
hence its Nats-Msg-Id, across retries, so a publish whose acknowledgement was lost is not doubled.
At most `publishers` publishes are in flight, so a burst of requests does not flood the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from contracts import Envelope
from services.runtime.errors import RuntimeKernelError
from services.runtime.logging import get_logger

RETRY_SECONDS = 1.0  # pause after the kernel publisher gave up on an event


class Publisher(Protocol):
    async def publish(self, envelope: Envelope, expected_last_sequence: int | None = None) -> int: ...


class QueuedEventSink:
    def __init__(self, publisher: Publisher, capacity: int = 10_000, publishers: int = 16) -> None:
        self.publisher = publisher
        self.queue: asyncio.Queue[Envelope] = asyncio.Queue(maxsize=capacity)
        self.publishers = publishers
        self.published = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.log = get_logger("inference.events")

    async def emit(self, envelope: Envelope) -> None:
        await self.queue.put(envelope)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._drain()) for _ in range(self.publishers)]

    async def _drain(self) -> None:
        while True:
            envelope = await self.queue.get()
            try:
                await self._publish_until_acknowledged(envelope)
            finally:
                self.queue.task_done()

    async def _publish_until_acknowledged(self, envelope: Envelope) -> None:
        while True:
            try:
                await self.publisher.publish(envelope)
                self.published += 1
                return
            except RuntimeKernelError as exc:  # JetStream unreachable past the publisher's own retries
                self.log.warning("event not acknowledged yet, retrying", subject=envelope.subject, error=str(exc))
            except Exception:  # keep the event and this publisher alive whatever the failure
                self.log.exception("publishing an event failed, retrying", subject=envelope.subject)
            await asyncio.sleep(RETRY_SECONDS)

    async def close(self, timeout: float = 30.0) -> None:
        """Publish what is queued (up to `timeout` seconds), then stop the publishers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout)
        if self.queue.qsize():
            self.log.error("events left unpublished at shutdown", count=self.queue.qsize())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
