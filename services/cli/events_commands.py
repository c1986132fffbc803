"""`greentune events ...`: read the audit history straight from the stream."""

from __future__ import annotations

import asyncio
import json

import click
from nats.js.api import ConsumerConfig, DeliverPolicy

from contracts import ContractError, decode_envelope
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
    js = nc.jetstream()
    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=from_seq)
    sub = await js.subscribe(subject, ordered_consumer=True, config=config)
    try:
        while True:
            try:
                message = await sub.next_msg(timeout=None if follow else 2.0)
            except TimeoutError:
                return
            click.echo(json.dumps(_line(message.metadata.sequence.stream, message.subject, message.data)))
            if not follow and message.metadata.num_pending == 0:
                return
    finally:
        await sub.unsubscribe()
        await nc.close()


def _line(seq: int, subject: str, data: bytes) -> dict[str, object]:
    try:
        envelope: object = decode_envelope(data).model_dump(mode="json")
    except ContractError as exc:
        envelope = {"unreadable": str(exc)}
    return {"seq": seq, "subject": subject, "envelope": envelope}
