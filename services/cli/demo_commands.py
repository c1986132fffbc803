"""`greentune demo` and `greentune up`: the embedded default on one machine."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from pathlib import Path

import click

from services.embedded.demo import run_demo
from services.embedded.stack import EmbeddedStack
from services.runtime.jetstream import connect
from services.runtime.settings import KernelSettings


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where this run keeps its state (default: <data dir>/demo/<time>).",
)
@click.option("--questions", type=click.IntRange(1, 200), default=5, show_default=True)
def demo(data_dir: Path | None, questions: int) -> None:
    """Start the embedded stack, fine-tune the tiny model on the demo facts, ask it, report kWh and CO2."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = data_dir or KernelSettings().data_dir / "demo" / stamp
    asyncio.run(run_demo(run_dir.resolve(), click.echo, questions))


@click.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Default: $GREENTUNE_DATA_DIR.")
def up(data_dir: Path | None) -> None:
    """Run the embedded stack (nats-server, every service, the HTTP API, the dashboard) until Ctrl-C."""
    stack = EmbeddedStack((data_dir or KernelSettings().data_dir).resolve(), with_api=True)
    stack.start()
    try:
        asyncio.run(_wait_ready(stack))
        click.echo(f"greentune is up: GREENTUNE_NATS_URL={stack.url}; logs in {stack.data_dir / 'logs'}")
        click.echo(f"dashboard: {stack.api_url}/")
        click.echo(f"HTTP API: {stack.api_url} (OpenAI-compatible /v1, REST /api/v1, docs at /docs)")
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        signal.sigwait(stop_signals)
    finally:
        stack.stop()


async def _wait_ready(stack: EmbeddedStack) -> None:
    nc = await connect(stack.url, "greentune-up")
    try:
        await stack.wait_ready(nc)
    finally:
        await nc.close()
