"""Request/reply on core NATS subjects `rpc.<service>.<method>`, outside the event stream, JSON both ways.

Every reply is `{"ok": true, "result": ...}` or `{"ok": false, "error": {"type", "message", ...}}`.
Each request is answered in its own task, so a slow method never holds up the others, and a queue
group lets several processes of one service share the load. The service decides how a body becomes a
reply; this module owns the subscriptions, the tasks, the encoding and the calling side.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from services.runtime.errors import BusUnavailableError

Reply = dict[str, Any]
Answer = Callable[[str, bytes], Awaitable[Reply]]  # (method, request body) -> reply


def ok(result: Any) -> Reply:
    return {"ok": True, "result": result}


def failed(kind: str, message: str, **detail: Any) -> Reply:
    return {"ok": False, "error": {"type": kind, "message": message, **detail}}


class RpcServer:
    def __init__(self, nc: Client, prefix: str, methods: Iterable[str], answer: Answer, queue: str | None) -> None:
        self.nc, self.prefix, self.methods, self.queue = nc, prefix, list(methods), queue
        self._answer = answer
        self._subscriptions: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for method in self.methods:
            subject = f"{self.prefix}.{method}"
            self._subscriptions.append(await self.nc.subscribe(subject, queue=self.queue or "", cb=self._on(method)))
        await subscriptions_registered(self.nc)

    async def stop(self) -> None:
        """Stop taking requests and finish those being answered."""
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _on(self, method: str) -> Callable[[Msg], Awaitable[None]]:
        async def on_message(msg: Msg) -> None:
            task = asyncio.create_task(self._serve(method, msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return on_message

    async def _serve(self, method: str, msg: Msg) -> None:
        reply = await self._answer(method, msg.data)
        if msg.reply:
            await msg.respond(json.dumps(reply, default=str).encode())


async def subscriptions_registered(nc: Client, timeout: float = 10.0) -> None:
    """Return once the server has registered every subscription made so far on `nc`, so that a
    request sent from another connection finds them.

    nats-py's `flush()` cannot promise that: it writes its PING straight to the socket, ahead of the
    SUBs still waiting in the client's buffer, and its PONG can come back before they are sent (seen
    as "no responders" right after a service started). A message to our own inbox goes through that
    buffer behind the SUBs, and the server handles a connection's bytes in order.
    """
    inbox = nc.new_inbox()
    echo = await nc.subscribe(inbox, max_msgs=1)
    try:
        await nc.publish(inbox, b"")
        await echo.next_msg(timeout=timeout)
    except Exception as exc:  # nats-py: TimeoutError, ConnectionClosedError
        raise BusUnavailableError(f"NATS did not confirm the subscriptions within {timeout} s: {exc!r}") from exc
    finally:
        await echo.unsubscribe()


async def request(nc: Client, subject: str, body: bytes, timeout: float, service: str) -> Reply:
    """Send a request and return the decoded reply; BusUnavailableError when nobody answers in time."""
    try:
        msg = await nc.request(subject, body, timeout=timeout)
    except Exception as exc:  # nats-py: NoRespondersError, TimeoutError, ConnectionClosedError
        raise BusUnavailableError(f"no {service} answered {subject} within {timeout} s: {exc!r}") from exc
    reply: Reply = json.loads(msg.data)
    return reply
