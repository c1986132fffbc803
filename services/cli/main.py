"""`greentune`: the command-line entry point. Each command group lives in its own module."""

from __future__ import annotations

import click

from services.cli.api_commands import api
from services.cli.carbon_commands import carbon
from services.cli.demo_commands import demo, up
from services.cli.doctor_commands import doctor
from services.cli.events_commands import events
from services.cli.inference_commands import inference
from services.cli.keys_commands import keys
from services.cli.nats_commands import nats
from services.cli.registry_commands import registry
from services.cli.trainer_commands import TRAINER_GROUPS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="greentune")
def cli() -> None:
    """Fine-tune and serve LLMs with an auditable event history and measured energy and CO2."""


cli.add_command(demo)
cli.add_command(up)
cli.add_command(doctor)
cli.add_command(api)
cli.add_command(nats)
cli.add_command(events)
cli.add_command(carbon)
cli.add_command(registry)
cli.add_command(inference)
cli.add_command(keys)
for group in TRAINER_GROUPS:  # models, datasets, jobs
    cli.add_command(group)

if __name__ == "__main__":
    cli()
