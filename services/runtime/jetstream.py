"""Connect to NATS and make sure the EVENTS stream exists with the contract's configuration.

The stream is declared here, once, with nats-py (FastStream's own declaration would merge and
overwrite settings it does not know, such as allow_atomic); services only bind to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from contracts.stream import DUPLICATE_WINDOW_SECONDS, STREAM_NAME, STREAM_SUBJECTS
from services.runtime.errors import BusUnavailableError


def events_stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=STREAM_NAME,
        subjects=list(STREAM_SUBJECTS),
        retention=RetentionPolicy.LIMITS,  # an event log: nothing is removed on ack or by interest
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,  # if limits are ever set, refuse appends rather than drop history
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        allow_direct=True,
        allow_atomic=True,  # the outbox relay appends in atomic batches
        deny_delete=True,
        deny_purge=True,
    )


async def connect(
    url: str,
    name: str,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    connect_timeout: float = 5.0,
) -> Client:
    """A connection that keeps reconnecting for ever (servers restart; clients must not give up)."""

    async def _noop(*_: object) -> None:
        return None

    try:
        return await nats.connect(
            servers=[u.strip() for u in url.split(",")],
            name=name,
            connect_timeout=connect_timeout,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            allow_reconnect=True,
            reconnected_cb=on_reconnect or _noop,
            disconnected_cb=_noop,
            error_cb=_noop,
        )
    except (OSError, nats.errors.Error) as exc:
        raise BusUnavailableError(f"cannot connect to NATS at {url}: {exc}") from exc


async def ensure_stream(js: JetStreamContext, replicas: int = 1) -> None:
    """Create EVENTS, or bring an existing one to the contract's settings. Idempotent."""
    config = events_stream_config(replicas)
    try:
        await js.stream_info(STREAM_NAME)
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except BadRequestError:
            pass  # created concurrently by another service: fall through to the update
    await js.update_stream(config)
