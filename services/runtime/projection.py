"""Keep a read model up to date from the EVENTS stream, and rebuild it from sequence 1.

A durable pull consumer with explicit acks feeds the view batch by batch, in stream order: the
batch is applied in one view transaction, then acknowledged. A crash between the two redelivers
the batch and the view's tracking position skips what it already has. If applying fails, the
batch is nak'ed and comes back later, in order. Events whose contract cannot be read (a type from
a newer producer) and forged envelopes (one stored under another subject than its own: a producer
writing another's event) are acknowledged, logged and skipped, the same way live and on rebuild. A view whose
stream was recreated (another creation time) or rewound (the view is past its last sequence) is
rebuilt from sequence 1 at start, saying so, rather than read on from a position that means
nothing there.

FastStream's subscribers ack message by message; this runner applies a batch and its tracking
position in one view transaction, which is what makes a redelivery harmless, so it stays here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from contracts import ContractError, Envelope, decode_envelope
from contracts.stream import STREAM_NAME
from services.runtime.dead_letters import park
from services.runtime.logging import get_logger
from services.runtime.views import View


class ProjectionRunner:
    def __init__(
        self,
        nc: Client,
        view: View,
        *,
        durable: str,
        filter_subjects: Sequence[str] = ("events.>",),
        stream: str = STREAM_NAME,
        batch_size: int = 256,
        ack_wait: float = 30.0,
        fetch_timeout: float = 1.0,
        inactive_threshold: float | None = None,
        poison_after: int = 5,
    ) -> None:
        self.js = nc.jetstream()
        self.view = view
        self.durable = durable
        self.filter_subjects = list(filter_subjects)
        self.stream = stream
        self.batch_size = batch_size
        self.ack_wait = ack_wait
        self.fetch_timeout = fetch_timeout
        self.inactive_threshold = inactive_threshold  # seconds unread before the server drops the consumer
        self.poison_after = poison_after  # deliveries of an event the view fails on before it is parked
        self._sub: nats.js.JetStreamContext.PullSubscription | None = None
        self._pending_after_last_batch: int | None = None  # messages the server still had for us
        self.log = get_logger(f"projection.{durable}")

    def _config(self, start_sequence: int) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_deliver=-1,  # the runner counts deliveries itself and parks a poison event, never drops one
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start_sequence,
            filter_subjects=self.filter_subjects,
            inactive_threshold=self.inactive_threshold,
        )

    async def start(self) -> None:
        """Bind to the durable consumer, (re)creating it if it is missing or ahead of the view."""
        await self.close()  # a start after a failure: the previous subscription goes first
        await self._follow_stream_origin()
        position = await asyncio.to_thread(self.view.position)
        try:
            info = await self.js.consumer_info(self.stream, self.durable)
            if info.ack_floor is not None and (info.ack_floor.stream_seq or 0) > position:
                self.log.info("consumer ahead of view, recreating", view_position=position)
                await self.js.delete_consumer(self.stream, self.durable)
                raise NotFoundError
        except NotFoundError:
            await self.js.add_consumer(self.stream, self._config(position + 1))
        self._sub = await self.js.pull_subscribe_bind(durable=self.durable, stream=self.stream)

    async def _follow_stream_origin(self) -> None:
        """Reset the view if its position counts in another stream than the one there now."""
        info = await self.js.stream_info(self.stream)
        origin = info.created.isoformat() if info.created is not None else None
        known, position = await asyncio.to_thread(lambda: (self.view.stream_origin(), self.view.position()))
        recreated = known is not None and origin is not None and known != origin
        if recreated or position > info.state.last_seq:
            self.log.warning(
                "the stream was recreated or rewound under the view; rebuilding the view from sequence 1",
                view_position=position, stream_last_sequence=info.state.last_seq,
                view_origin=known, stream_origin=origin,
            )  # fmt: skip
            await asyncio.to_thread(self.view.reset)
            with contextlib.suppress(NotFoundError):
                await self.js.delete_consumer(self.stream, self.durable)
            known = None
        if origin is not None and known != origin:
            await asyncio.to_thread(self.view.set_stream_origin, origin)

    async def process_batch(self) -> int:
        """Fetch, apply and acknowledge one batch; returns the number of messages handled."""
        assert self._sub is not None, "call start() first"
        try:
            messages = await self._sub.fetch(self.batch_size, timeout=self.fetch_timeout)
        except (nats.errors.TimeoutError, TimeoutError):  # nats-py raises either from fetch
            return 0
        self._pending_after_last_batch = messages[-1].metadata.num_pending
        items = await self._decode(messages)
        try:
            await asyncio.to_thread(self.view.apply, [(sequence, envelope) for _, sequence, envelope in items])
        except Exception:
            self.log.exception("view failed to apply a batch; applying its events one by one", size=len(items))
            await self._apply_one_by_one(items)
            return len(messages)
        for message, _, _ in items:
            await message.ack()
        return len(messages)

    async def _apply_one_by_one(self, items: Sequence[tuple[Msg, int, Envelope]]) -> None:
        """Keep what applies; park a poison event; nak the failing event and those after it."""
        for index, (message, sequence, envelope) in enumerate(items):
            try:
                await asyncio.to_thread(self.view.apply, [(sequence, envelope)])
            except Exception as exc:
                deliveries = message.metadata.num_delivered or 1
                if deliveries >= self.poison_after:
                    await park(self.js, message, self.durable, f"the view failed on it {deliveries} times: {exc!r}")
                    continue
                for later, _, _ in items[index:]:
                    await later.nak(delay=1.0)
                raise
            await message.ack()

    async def _decode(self, messages: Sequence[Msg]) -> list[tuple[Msg, int, Envelope]]:
        items = []
        for message in messages:
            sequence = message.metadata.sequence.stream
            try:
                items.append((message, sequence, decode_envelope(message.data, message.subject)))
            except ContractError as exc:
                await park(self.js, message, self.durable, f"unreadable or forged event: {exc}")
        return items

    async def caught_up(self) -> bool:
        assert self._sub is not None
        info = await self._sub.consumer_info()
        return info.num_pending == 0 and info.num_ack_pending == 0

    async def catch_up(self, timeout: float | None = 60.0) -> None:
        """Process until every event in the stream at call time is applied."""
        async with asyncio.timeout(timeout):
            while True:
                handled = await self.process_batch()
                if handled and self._pending_after_last_batch == 0:
                    return  # the last message we got was the stream's last: no idle fetch needed
                if handled == 0 and await self.caught_up():
                    return

    async def rebuild(self, timeout: float = 600.0) -> None:
        """Drop the view and replay the whole stream into it from sequence 1."""
        await asyncio.to_thread(self.view.reset)
        await self.close()
        with contextlib.suppress(NotFoundError):
            await self.js.delete_consumer(self.stream, self.durable)
        await self.start()
        await self.catch_up(timeout)

    async def close(self) -> None:
        """Drop the subscription (its consumer stays): a connection still holding a pull subscription
        takes its whole drain timeout to close."""
        if self._sub is not None:
            sub, self._sub = self._sub, None
            with contextlib.suppress(Exception):  # the connection may be gone already
                await sub.unsubscribe()

    async def run(self, stop: asyncio.Event) -> None:
        """Apply events as they arrive until `stop` is set."""
        if self._sub is None:
            await self.start()
        while not stop.is_set():
            try:
                await self.process_batch()
            except Exception:  # logged in process_batch; keep the read model alive
                await asyncio.sleep(1.0)
