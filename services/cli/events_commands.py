"""`greentune events ...`: read the audit history straight from the stream."""

from __future__ import annotations

import asyncio
import json

import click

from contracts import ContractError, decode_envelope
from services.runtime.event_feed import read_events
from services.runtime.jetstream import connect
from services.runtime.settings import KernelSettings


@click.group()
def events() -> None:
    """The event log: every fact greentune recorded, in order."""


@events.command()
@click.option(
    "--subject",
    default="events.>",
    show_default=True,
    help="Filter, e.g. 'events.*.job.<id>.*' for one job or 'events.trainer.>' for one producer.",
)
@click.option("--from-seq", type=int, default=1, show_default=True, help="First stream sequence to show.")
@click.option("--follow/--no-follow", default=False, help="Keep waiting for new events.")
def tail(subject: str, from_seq: int, follow: bool) -> None:
    """Print events as JSON lines: {"seq", "subject", "envelope"}."""
    asyncio.run(_tail(KernelSettings().nats_url, subject, from_seq, follow))


async def _tail(url: str, subject: str, from_seq: int, follow: bool) -> None:
    nc = await connect(url, "greentune-cli")
    try:
        async for stored in read_events(nc, subject, from_seq, follow):
            if stored is not None:
                click.echo(json.dumps(_line(stored.sequence, stored.subject, stored.data)))
    finally:
        await nc.close()


def _line(seq: int, subject: str, data: bytes) -> dict[str, object]:
    try:
        envelope: object = decode_envelope(data).model_dump(mode="json")
    except ContractError as exc:
        envelope = {"unreadable": str(exc)}
    return {"seq": seq, "subject": subject, "envelope": envelope}
