"""Trainer commands over NATS request/reply: one `rpc.trainer.<command>` subject each, outside the
event stream, served by a queue group so several intake processes can share the load.

A malformed request, a refused command and an internal failure all come back as structured replies
(`commands.refused`); the requester never waits for a timeout because of bad input.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from services.runtime.errors import BusUnavailableError
from services.runtime.logging import get_logger
from services.trainer.commands import COMMANDS, Command, ok, refused
from services.trainer.errors import InvalidInputError, Problem, TrainerError

QUEUE_GROUP = "trainer-intake"
Handler = Callable[[Command], Awaitable[dict[str, Any]]]


class RpcServer:
    def __init__(self, nc: Client, handler: Handler) -> None:
        self.nc, self.handler = nc, handler
        self._subs: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.log = get_logger("trainer.rpc")

    async def start(self) -> None:
        for command in COMMANDS:
            self._subs.append(
                await self.nc.subscribe(command.subject(), queue=QUEUE_GROUP, cb=self._dispatcher(command))
            )

    async def stop(self) -> None:
        for sub in self._subs:
            await sub.unsubscribe()
        self._subs.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _dispatcher(self, command: type[Command]) -> Callable[[Msg], Awaitable[None]]:
        async def on_message(msg: Msg) -> None:
            task = asyncio.create_task(self._serve(command, msg))  # one slow command must not block the others
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return on_message

    async def _serve(self, command: type[Command], msg: Msg) -> None:
        reply = await self.answer(command, msg.data)
        if msg.reply:
            await msg.respond(json.dumps(reply).encode())

    async def answer(self, command: type[Command], data: bytes) -> dict[str, Any]:
        try:
            parsed = command.model_validate_json(data)
        except ValidationError as exc:
            problems = [Problem(e["msg"], field=".".join(map(str, e["loc"])) or None) for e in exc.errors()]
            return refused(InvalidInputError(f"malformed {command.name} request", problems).to_dict())
        try:
            return ok(await self.handler(parsed))
        except TrainerError as exc:
            self.log.info("command refused", command=command.name, error=str(exc))
            return refused(exc.to_dict())
        except Exception as exc:
            self.log.exception("command failed", command=command.name)
            message = f"internal error in {command.name}: {exc!r}; see the trainer's log"
            return refused(
                {"category": "InternalError", "type": type(exc).__name__, "message": message, "problems": []}
            )


async def call(nc: Client, command: Command, timeout: float) -> dict[str, Any]:
    """Send a command, return its reply (`{"ok": ...}`); BusUnavailableError if no trainer answers."""
    try:
        msg = await nc.request(command.subject(), command.model_dump_json().encode(), timeout=timeout)
    except Exception as exc:  # nats-py: NoRespondersError, TimeoutError
        raise BusUnavailableError(f"no trainer answered {command.subject()} within {timeout} s: {exc!r}") from exc
    reply: dict[str, Any] = json.loads(msg.data)
    return reply
