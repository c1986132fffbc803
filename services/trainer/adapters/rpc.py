"""Trainer commands over NATS request/reply: one `rpc.trainer.<command>` subject each, outside the
event stream, served by a queue group so several intake processes can share the load.

A malformed request, a refused command and an internal failure all come back as structured replies
(`commands.refused`); the requester never waits for a timeout because of bad input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client
from pydantic import BaseModel, ValidationError

from services.runtime import rpc
from services.runtime.logging import get_logger
from services.trainer.commands import COMMANDS, RPC_PREFIX, Command, ok, refused
from services.trainer.errors import InvalidInputError, Problem, TrainerError

QUEUE_GROUP = "trainer-intake"

Handler = Callable[[Command], Awaitable[BaseModel]]
_BY_NAME = {command.name: command for command in COMMANDS}


class RpcServer(rpc.RpcServer):
    def __init__(self, nc: Client, handler: Handler) -> None:
        super().__init__(nc, RPC_PREFIX, _BY_NAME, self._answer_method, QUEUE_GROUP)
        self.handler = handler
        self.log = get_logger("trainer.rpc")

    async def _answer_method(self, method: str, data: bytes) -> dict[str, Any]:
        return await self.answer(_BY_NAME[method], data)

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
    return await rpc.request(nc, command.subject(), command.model_dump_json().encode(), timeout, "trainer")
