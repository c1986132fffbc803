"""EventHistory on JetStream: reads an aggregate's events (or every base-model registration) back
from the EVENTS stream with an ordered consumer.

The registry's handlers are blocking (they run in worker threads beside the event loop), so the
blocking methods hand the reads to the loop that owns the NATS connection and wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from nats.aio.client import Client
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from contracts import ContractError, Envelope, decode_envelope
from contracts.events.models import BaseModelRegistered
from contracts.stream import STREAM_NAME
from contracts.subjects import aggregate_filter, type_filter
from services.runtime.errors import BusUnavailableError


class JetStreamHistory:
    def __init__(self, nc: Client, loop: asyncio.AbstractEventLoop, timeout: float = 30.0) -> None:
        self.js = nc.jetstream()
        self.loop = loop
        self.timeout = timeout  # seconds for one read

    def aggregate_events(self, aggregate_type: str, aggregate_id: str) -> list[Envelope]:
        try:
            subject = aggregate_filter(aggregate_type, aggregate_id)
        except ContractError:
            return []  # an id that cannot be a subject token has no events
        return self._blocking(self.read(subject))

    def base_models(self) -> list[BaseModelRegistered]:
        envelopes = self._blocking(self.read(type_filter("BaseModelRegistered", aggregate_type="base_model")))
        return [e.event for e in envelopes if isinstance(e.event, BaseModelRegistered)]

    def _blocking(self, coroutine: Coroutine[Any, Any, list[Envelope]]) -> list[Envelope]:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(self.timeout)
        except TimeoutError as exc:
            future.cancel()
            raise BusUnavailableError(f"reading the event log took longer than {self.timeout} s") from exc

    async def read(self, subject: str) -> list[Envelope]:
        """Every readable event on `subject` up to its last one now, in stream order."""
        try:
            last = (await self.js.get_last_msg(STREAM_NAME, subject)).seq or 0
        except NotFoundError:
            return []
        sub = await self.js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        out: list[Envelope] = []
        try:
            while True:
                message = await sub.next_msg(timeout=self.timeout)
                with contextlib.suppress(ContractError):  # a newer producer's type: not lineage we understand
                    out.append(decode_envelope(message.data, message.subject))
                if message.metadata.sequence.stream >= last:
                    return out
        finally:
            await sub.unsubscribe()
