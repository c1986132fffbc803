"""`greentune`: the command-line entry point. Each command group lives in its own module."""

from __future__ import annotations

import click

from services.cli.events_commands import events
from services.cli.nats_commands import nats


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="greentune")
def cli() -> None:
    """Fine-tune and serve LLMs with an auditable event history and measured energy and CO2."""


cli.add_command(nats)
cli.add_command(events)

if __name__ == "__main__":
    cli()
