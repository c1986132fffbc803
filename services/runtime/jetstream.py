"""Connect to NATS and make sure the EVENTS stream exists with the contract's configuration.

The stream is declared here, once, with nats-py (FastStream's own declaration would merge and
overwrite settings it does not know, such as allow_atomic); services only bind to it.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.stream import (
    DEAD_LETTER_STREAM,
    DEAD_LETTER_SUBJECTS,
    DUPLICATE_WINDOW_SECONDS,
    STREAM_NAME,
    STREAM_SUBJECTS,
)
from services.runtime.errors import BusUnavailableError
from services.runtime.logging import get_logger
from services.runtime.nats_identities import identities_path, inbox_prefix
from services.runtime.settings import KernelSettings


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
    identity: str = "cli",
    access: NatsAccess | None = None,
) -> Client:
    """A connection that keeps reconnecting for ever (servers restart; clients must not give up),
    as `identity` when there is an identities file (NatsAccess), over TLS trusting its CA when one
    is set. Refusals by the server (a subject the identity may not use) are logged."""
    access = access or NatsAccess()
    log = get_logger(f"nats.{name}")

    async def _noop(*_: object) -> None:
        return None

    connected = False

    async def _error(exc: Exception) -> None:
        refused = isinstance(exc, nats.errors.AuthorizationError | ssl.SSLError) or "authorization" in str(exc).lower()
        if not connected and refused:
            raise exc  # refused for who we are, not because the server is down: retrying cannot help
        log.warning("NATS reported an error", error=str(exc))

    try:
        nc = await nats.connect(
            servers=[u.strip() for u in url.split(",")],
            name=name,
            connect_timeout=connect_timeout,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            allow_reconnect=True,
            reconnected_cb=on_reconnect or _noop,
            disconnected_cb=_noop,
            error_cb=_error,
            **access.options(identity),
        )
    except (OSError, nats.errors.Error) as exc:
        raise BusUnavailableError(f"cannot connect to NATS at {url} as {identity!r}: {exc}") from exc
    connected = True
    return nc


class NatsAccess(BaseSettings):
    """How a process proves who it is to NATS (env prefix GREENTUNE_NATS_): the identities file
    (services/runtime/nats_identities.py), by default `<data dir>/nats/identities.json` when it
    exists, and the CA to trust for tls:// servers."""

    model_config = SettingsConfigDict(env_prefix="GREENTUNE_NATS_", extra="ignore")

    credentials: Path | None = Field(None, description="The identities file (`greentune up` writes one).")
    tls_ca: Path | None = Field(None, description="CA certificate to trust for tls:// servers.")

    def identities_file(self) -> Path | None:
        if self.credentials is not None:
            return self.credentials
        default = identities_path(KernelSettings().data_dir)
        return default if default.is_file() else None

    def options(self, identity: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if (credentials := self.identities_file()) is not None:
            passwords = json.loads(credentials.read_text())
            if identity not in passwords:
                known = ", ".join(sorted(passwords))
                raise BusUnavailableError(f"{credentials} has no NATS identity {identity!r} (it has {known})")
            options.update(user=identity, password=passwords[identity], inbox_prefix=inbox_prefix(identity))
        if self.tls_ca is not None:
            options["tls"] = ssl.create_default_context(cafile=str(self.tls_ca))
        return options


def dead_letter_stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=DEAD_LETTER_STREAM,
        subjects=list(DEAD_LETTER_SUBJECTS),
        retention=RetentionPolicy.LIMITS,  # kept until someone looks: nothing is removed on ack
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,  # a park retried after a lost ack is stored once
    )


async def ensure_stream(js: JetStreamContext, replicas: int = 1) -> None:
    """Create EVENTS and DEADLETTER, or bring existing ones to the contract's settings. Idempotent."""
    for config in (events_stream_config(replicas), dead_letter_stream_config(replicas)):
        await _ensure(js, config)


async def _ensure(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or update it when its settings differ from the contract's (only the
    bootstrap identity may: a service finding it as it should be changes nothing)."""
    try:
        info = await js.stream_info(config.name or "")
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except BadRequestError:  # created concurrently by another service: compare it below
            info = await js.stream_info(config.name or "")
    if _differs(info.config, config):
        await js.update_stream(config)


def _differs(current: StreamConfig, wanted: StreamConfig) -> bool:
    fields = {k: v for k, v in wanted.as_dict().items() if k != "name"}
    have = current.as_dict()
    return any(have.get(key) != value for key, value in fields.items())
