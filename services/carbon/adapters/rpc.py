"""Carbon queries over NATS request/reply: `rpc.carbon.<name>`, served by a queue group so several
carbon processes can share the load, outside the event stream. Bad requests and refusals come
back as structured replies; the requester never waits for a timeout because of bad input.
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

from services.carbon.domain import CarbonError
from services.carbon.queries import QUERIES, RPC_PREFIX, Query
from services.runtime.errors import BusUnavailableError
from services.runtime.logging import get_logger

QUEUE_GROUP = "carbon"
Answer = Callable[[str, Query], Awaitable[Any]]


def refused(kind: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"type": kind, "message": message}}


class RpcServer:
    def __init__(self, nc: Client, answer: Answer) -> None:
        self.nc, self.answer = nc, answer
        self._subs: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.log = get_logger("carbon.rpc")

    async def start(self) -> None:
        for name in QUERIES:
            self._subs.append(await self.nc.subscribe(f"{RPC_PREFIX}.{name}", queue=QUEUE_GROUP, cb=self._on(name)))

    async def stop(self) -> None:
        for sub in self._subs:
            await sub.unsubscribe()
        self._subs.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _on(self, name: str) -> Callable[[Msg], Awaitable[None]]:
        async def on_message(msg: Msg) -> None:
            task = asyncio.create_task(self._serve(name, msg))  # a slow report must not block the others
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return on_message

    async def _serve(self, name: str, msg: Msg) -> None:
        reply = await self.reply(name, msg.data)
        if msg.reply:
            await msg.respond(json.dumps(reply, default=str).encode())

    async def reply(self, name: str, data: bytes) -> dict[str, Any]:
        try:
            query = QUERIES[name].model_validate_json(data or b"{}")
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors())
            return refused("InvalidRequest", f"malformed {RPC_PREFIX}.{name} request: {problems}")
        try:
            return {"ok": True, "result": await self.answer(name, query)}
        except CarbonError as exc:
            return refused(type(exc).__name__, str(exc))
        except Exception as exc:
            self.log.exception("query failed", query=name)
            return refused("InternalError", f"{RPC_PREFIX}.{name} failed: {exc!r}; see the carbon service's log")


async def call(nc: Client, name: str, request: dict[str, Any] | Query, timeout: float = 10.0) -> dict[str, Any]:
    """Ask the carbon service; returns its reply (`{"ok": ...}`) or raises BusUnavailableError."""
    body = request.model_dump_json() if isinstance(request, Query) else json.dumps(request)
    try:
        msg = await nc.request(f"{RPC_PREFIX}.{name}", body.encode(), timeout=timeout)
    except Exception as exc:  # nats-py: NoRespondersError, TimeoutError
        raise BusUnavailableError(
            f"no carbon service answered {RPC_PREFIX}.{name} within {timeout} s: {exc!r}"
        ) from exc
    reply: dict[str, Any] = json.loads(msg.data)
    return reply
