"""Publish a service's outbox (its event store's notification log) to JetStream: in order, exactly once.

- Order and fencing: every append expects the producer's last stream sequence
  (`Nats-Expected-Last-Subject-Sequence` on `events.<producer>.>`), so a second or stale relay is
  refused (RelayFencedError) instead of interleaving or duplicating.
- Throughput: pending events go out as ADR-50 atomic batches (all or nothing, one round trip).
- No local state: the position is read back from the last message JetStream holds for the
  producer (its `Greentune-Notification-Id` header), so a restarted relay, or one whose ack was
  lost, resumes exactly after the last stored event.

FastStream's publishers send one message at a time with no expected-last-subject-sequence, so they
cannot fence a second relay or publish a batch atomically: the relay stays on nats-py. FastStream
serves the request/reply subjects (services/runtime/rpc.py); the AsyncAPI document lists the event
subjects the relays write (services/asyncapi.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import nats.errors
from nats.aio.client import Client
from nats.js.errors import APIError, NotFoundError

from contracts import Envelope
from contracts.stream import HEADER_NOTIFICATION_ID, STREAM_NAME
from contracts.subjects import producer_filter
from services.runtime.errors import BusUnavailableError, RelayFencedError, RelayPositionError
from services.runtime.logging import get_logger
from services.runtime.wire import WRONG_LAST_SEQUENCE_CODES, OutgoingMessage, expect_last, to_message

MAX_BATCH = 1000  # ADR-50 limit per atomic batch
# A batch holding an event already in the stream is refused with this code before the
# expected-sequence check runs: the relay's position is stale, exactly as with 10071.
DUPLICATE_IN_BATCH = 10201


class Outbox(Protocol):
    @property
    def producer(self) -> str: ...  # read-only, so a class attribute satisfies it

    def outbox_after(self, position: int, limit: int) -> Sequence[tuple[int, Envelope]]: ...

    def outbox_head(self) -> int: ...  # the position of the store's last event


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        nc: Client,
        *,
        stream: str = STREAM_NAME,
        batch_size: int = 500,
        request_timeout: float = 5.0,
    ) -> None:
        self.outbox = outbox
        self.nc = nc
        self.js = nc.jetstream(timeout=request_timeout)
        self.stream = stream
        self.batch_size = min(batch_size, MAX_BATCH)
        self.request_timeout = request_timeout
        self.subject_filter = producer_filter(outbox.producer)
        self.position = 0  # last outbox position known to be in the stream
        self.last_seq = 0  # stream sequence of the producer's last message
        self.recoveries = 0  # times the position was re-read after a failure or a fence
        self.health = "starting"  # "ok", or "retrying: <error>" / "refused: <error>" while it cannot publish
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.log = get_logger(f"{outbox.producer}.relay")

    async def recover(self) -> None:
        """Read the position back from JetStream: the position header of the producer's last message,
        refused (RelayPositionError) when that message is not one of this store's."""
        try:
            last = await self.js.get_last_msg(self.stream, self.subject_filter)
        except NotFoundError:
            self.position, self.last_seq = 0, 0
            return
        header = (last.headers or {}).get(HEADER_NOTIFICATION_ID, "")
        where = f"the last message on {self.subject_filter} (stream sequence {last.seq}, {last.subject})"
        if not header.isdigit():
            raise RelayPositionError(f"{where} has no {HEADER_NOTIFICATION_ID} header of ours ({header!r})")
        head = await asyncio.to_thread(self.outbox.outbox_head)
        if int(header) > head:
            raise RelayPositionError(
                f"{where} is at outbox position {header}, past this store's head {head}: the stream holds events "
                "this store does not (a store restored from an older backup, or another store's relay?)"
            )
        self.last_seq, self.position = last.seq or 0, int(header)

    async def pump_once(self) -> int:
        """Publish the next batch of pending events; returns how many."""
        items = await asyncio.to_thread(self.outbox.outbox_after, self.position, self.batch_size)
        if not items:
            return 0
        self.last_seq = await self._append(items)
        self.position = items[-1][0]
        return len(items)

    async def _append(self, items: Sequence[tuple[int, Envelope]]) -> int:
        messages = [to_message(env, position) for position, env in items]
        fence = expect_last(messages[0].headers, self.last_seq, self.subject_filter)
        if len(messages) == 1:
            return await self._publish_one(messages[0], fence)
        return await self._publish_batch(messages, fence)

    async def _publish_one(self, message: OutgoingMessage, headers: dict[str, str]) -> int:
        try:
            ack = await self.js.publish(message.subject, message.payload, headers=headers)
        except APIError as exc:
            raise self._translate(exc) from exc
        if ack.duplicate:  # stored before, yet we were not at the head: re-read the position
            raise RelayFencedError("duplicate append: the relay's position was stale")
        return int(ack.seq)

    async def _publish_batch(self, messages: Sequence[OutgoingMessage], fence: dict[str, str]) -> int:
        """ADR-50 atomic batch: all stored or none; only the commit gets a reply (one round trip)."""
        batch_id = uuid.uuid4().hex
        last = len(messages)
        for index, message in enumerate(messages[:-1], start=1):
            headers = fence if index == 1 else message.headers
            batch = {"Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(index)}
            await self.nc.publish(message.subject, message.payload, headers={**headers, **batch})
        commit = {"Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(last), "Nats-Batch-Commit": "1"}
        final = messages[-1]
        reply = await self.nc.request(
            final.subject, final.payload, self.request_timeout, headers={**final.headers, **commit}
        )
        return self._committed_sequence(json.loads(reply.data))

    def _committed_sequence(self, response: dict[str, Any]) -> int:
        if "error" in response:
            error = response["error"]
            raise self._refusal(error.get("err_code"), error.get("description", ""))
        return int(response["seq"])

    def _translate(self, exc: APIError) -> Exception:
        return self._refusal(exc.err_code, exc.description or "")

    def _refusal(self, code: int | None, description: str) -> Exception:
        if code in WRONG_LAST_SEQUENCE_CODES or code == DUPLICATE_IN_BATCH:
            return RelayFencedError(
                f"another writer appended to {self.subject_filter} (expected last sequence {self.last_seq}): "
                f"{description}"
            )
        return BusUnavailableError(f"JetStream refused the append: {description} ({code})")

    def notify(self) -> None:
        """Wake the relay now (thread-safe): new events were saved."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event, poll_interval: float = 0.2) -> None:
        """Publish until `stop` is set, surviving server restarts, lost acks and fencing; any other
        failure is logged and retried with backoff (`health` says which), never the end of the relay."""
        self._loop = asyncio.get_running_loop()
        backoff, recovered = 0.05, False
        while not stop.is_set():
            try:
                if not recovered:
                    await self.recover()
                    recovered = True
                self._wake.clear()
                published = await self.pump_once()
                backoff, self.health = 0.05, "ok"
            except RelayFencedError as exc:
                self.log.warning("relay fenced, re-reading position", error=str(exc))
                recovered, self.recoveries = False, self.recoveries + 1
                continue
            except Exception as exc:  # supervised: said, then retried
                recovered, self.recoveries = False, self.recoveries + 1
                self.health = f"{'refused' if isinstance(exc, RelayPositionError) else 'retrying'}: {exc!r}"
                transient = isinstance(exc, (TimeoutError, nats.errors.Error, BusUnavailableError, OSError))
                report = self.log.warning if transient else self.log.error
                report("relay not publishing, retrying", error=repr(exc), retry_in_s=backoff)
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 2.0 if transient else 30.0)
                continue
            if published == 0:
                await _first_of(stop, self._wake, poll_interval)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _first_of(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
