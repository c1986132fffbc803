"""Asking the trainer from the API, the CLI, the demo or another service: send a command
(services/trainer/commands.py), get its reply model (services/trainer/replies.py). A refusal is
raised as RpcFailed with the trainer's problem (status, code, detail, problems naming file, line and
field); no trainer answering is BusUnavailableError."""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client

from services.runtime import rpc
from services.trainer.adapters.rpc import RPC
from services.trainer.commands import Command


async def ask(nc: Client, command: Command, timeout: float) -> Any:
    """The command's reply model (e.g. JobCreated for CreateJob)."""
    reply = RPC.route(command.name).reply
    return await rpc.call(nc, command.subject(), command, reply, timeout, "trainer")
