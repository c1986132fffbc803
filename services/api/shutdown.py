"""How the API stops within seconds: `serve` runs uvicorn and sets the app's `stopping` event as soon
as shutdown begins (before uvicorn waits for open responses); `until_stopping` ends a live feed
(server-sent events that would otherwise follow a job for ever) within POLL_S once it is set. A
response still open after GRACE_S is cancelled by uvicorn.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Request

GRACE_S = 3  # seconds uvicorn waits for open responses once live feeds were told to end
POLL_S = 0.5  # seconds: how soon an idle live feed notices that the server is stopping
T = TypeVar("T")


async def stopping_event(request: Request) -> asyncio.Event:
    event: asyncio.Event = request.app.state.stopping
    return event


Stopping = Annotated[asyncio.Event, Depends(stopping_event)]


async def until_stopping(
    feed: AsyncIterator[T | None], stopping: asyncio.Event, keep_alive_s: float
) -> AsyncGenerator[T | None, None]:
    """A live feed's items until it ends or `stopping` is set. `feed` yields None after each
    POLL_S of silence (read_events' `idle_s`), the moment to notice a stop; this yields None only
    once per `keep_alive_s` of silence, for a keep-alive. Same task throughout: closing it is safe."""
    silent = 0.0  # seconds
    async for item in feed:
        if stopping.is_set():
            return
        if item is not None:
            silent = 0.0
            yield item
            continue
        silent += POLL_S
        if silent >= keep_alive_s:
            silent = 0.0
            yield None


def serve(app: FastAPI, host: str, port: int, log_level: str) -> None:
    """uvicorn in the foreground until SIGINT/SIGTERM; `app.state.stopping` is set when it begins to stop."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            app.state.stopping.set()
            await super().shutdown(sockets)

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=GRACE_S)
    Server(config).run()
