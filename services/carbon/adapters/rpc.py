"""Carbon queries over NATS request/reply: `rpc.carbon.<name>`, served by a queue group so several
carbon processes can share the load, outside the event stream. Bad requests and refusals come
back as structured replies; the requester never waits for a timeout because of bad input.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client
from pydantic import ValidationError

from services.carbon.domain import CarbonError
from services.carbon.queries import QUERIES, RPC_PREFIX, Query
from services.runtime import rpc
from services.runtime.logging import get_logger

QUEUE_GROUP = "carbon"
Answer = Callable[[str, Query], Awaitable[Any]]


class RpcServer(rpc.RpcServer):
    def __init__(self, nc: Client, answer: Answer) -> None:
        super().__init__(nc, RPC_PREFIX, QUERIES, self.reply, QUEUE_GROUP)
        self.query_answer = answer
        self.log = get_logger("carbon.rpc")

    async def reply(self, name: str, data: bytes) -> dict[str, Any]:
        try:
            query = QUERIES[name].model_validate_json(data or b"{}")
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors())
            return rpc.failed("InvalidRequest", f"malformed {RPC_PREFIX}.{name} request: {problems}")
        try:
            return rpc.ok(await self.query_answer(name, query))
        except CarbonError as exc:
            return rpc.failed(type(exc).__name__, str(exc))
        except Exception as exc:
            self.log.exception("query failed", query=name)
            return rpc.failed("InternalError", f"{RPC_PREFIX}.{name} failed: {exc!r}; see the carbon service's log")


async def call(nc: Client, name: str, request: dict[str, Any] | Query, timeout: float = 10.0) -> dict[str, Any]:
    """Ask the carbon service; returns its reply (`{"ok": ...}`) or raises BusUnavailableError."""
    body = request.model_dump_json() if isinstance(request, Query) else json.dumps(request)
    return await rpc.request(nc, f"{RPC_PREFIX}.{name}", body.encode(), timeout, "carbon service")
