"""`greentune demo` and `greentune up`: the embedded default on one machine, supervised.

`demo` fails at once, with the service's log tail, when a service exits or its job stalls. `up`
restarts a service that exits (reporting it on stderr) and exits non-zero, with the log tail, once
one cannot be kept running; Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from services.embedded.demo import run_demo
from services.embedded.stack import EmbeddedStack, StackError
from services.embedded.stall import DEFAULT_STALL_S, JobStalledError
from services.embedded.supervisor import RestartPolicy
from services.embedded.walkthrough import DemoError
from services.runtime.jetstream import connect
from services.runtime.settings import KernelSettings


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where this run keeps its state (default: <data dir>/demo/<time>).",
)
@click.option(
    "--model",
    type=click.Choice(["smollm2", "tiny"]),
    default="smollm2",
    show_default=True,
    help="smollm2: SmolLM2-135M-Instruct learns invented facts (~4 min; +1 the first time); tiny: the tiny model.",
)
@click.option(
    "--questions", type=click.IntRange(1, 200), default=5, show_default=True, help="Code words asked (tiny model)."
)
@click.option(
    "--stall-seconds",
    type=click.FloatRange(min=1),
    default=DEFAULT_STALL_S,
    show_default=True,
    envvar="GREENTUNE_DEMO_STALL_SECONDS",
    help="Fail when the job publishes no progress event for this long (env GREENTUNE_DEMO_STALL_SECONDS).",
)
def demo(data_dir: Path | None, model: str, questions: int, stall_seconds: float) -> None:
    """Start the embedded stack, fine-tune a model on new facts, ask it before and after, report kWh and CO2."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = (data_dir or KernelSettings().data_dir / "demo" / stamp).resolve()
    try:
        asyncio.run(run_demo(run_dir, click.echo, questions, stall_seconds, model=model))
    except (StackError, JobStalledError, DemoError) as exc:
        noise = run_dir / "logs" / "demo.log"
        raise click.ClickException(f"the demo failed: {exc}\n(its third-party output: {noise})") from exc


@click.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Default: $GREENTUNE_DATA_DIR.")
def up(data_dir: Path | None) -> None:
    """Run the embedded stack (nats-server, every service, the HTTP API, the dashboard) until Ctrl-C;
    a service that exits is restarted."""
    stack = EmbeddedStack((data_dir or KernelSettings().data_dir).resolve(), with_api=True, policy=RestartPolicy())
    try:
        asyncio.run(_serve(stack))
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        stack.stop()


async def _serve(stack: EmbeddedStack) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stack.start()
    nc = await connect(stack.url, "greentune-up", access=stack.access)
    try:
        ready = asyncio.create_task(stack.wait_ready(nc))
        await asyncio.wait({ready, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():  # Ctrl-C during start-up
            ready.cancel()
            return
        ready.result()
        credentials = stack.access.identities_file()
        click.echo(
            f"greentune is up: GREENTUNE_NATS_URL={stack.url}; GREENTUNE_NATS_CREDENTIALS={credentials}; "
            f"logs in {stack.data_dir / 'logs'}"
        )
        click.echo(f"dashboard: {stack.api_url}/")
        click.echo(f"HTTP API: {stack.api_url} (OpenAI-compatible /v1, REST /api/v1, docs at /docs)")
        click.echo("services that exit are restarted; Ctrl-C stops everything")
        sys.stdout.flush()
        await stack.watch(nc, stop)
        click.echo("stopping...", err=True)
    finally:
        await nc.close()
