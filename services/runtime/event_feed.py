"""Reading the EVENTS stream from a sequence on, for people and clients (`greentune events tail`,
the API's live feeds): an ordered consumer, nothing acknowledged, nothing left behind on the server."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy


@dataclass(frozen=True)
class StoredEvent:
    sequence: int  # the stream sequence: pass sequence + 1 to resume after it
    subject: str
    data: bytes
    pending: int = 0  # events on the subject after this one when it was delivered: 0 = caught up


async def read_events(
    nc: Client, subject: str, from_seq: int = 1, follow: bool = False, idle_s: float = 2.0
) -> AsyncGenerator[StoredEvent | None, None]:
    """Events on `subject` from `from_seq`. Without `follow` it ends once the stream holds no more;
    with it, it waits for new ones for ever, yielding None every `idle_s` seconds of silence (a
    chance to send a keep-alive or notice the reader is gone)."""
    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(1, from_seq))
    sub = await nc.jetstream().subscribe(subject, ordered_consumer=True, config=config)
    try:
        while True:
            try:
                message = await sub.next_msg(timeout=idle_s)
            except TimeoutError:
                if not follow:
                    return
                yield None
                continue
            pending = message.metadata.num_pending
            yield StoredEvent(message.metadata.sequence.stream, message.subject, message.data, pending)
            if not follow and pending == 0:
                return
    finally:
        await sub.unsubscribe()
