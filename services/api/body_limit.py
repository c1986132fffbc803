"""Request bodies are limited while they arrive, before any route reads them: a declared
Content-Length over the route's limit is answered 413 without reading a byte, and a body sent
without one (chunked) is cut off at the limit with the same answer, so a client cannot make the API
keep more than the limit in memory or on disk. Each route's limit comes from `limit_for`.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.errors import ApiProblem, render

LimitFor = Callable[[str, str], int]  # (method, path) -> bytes


def too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413, "body_too_large", f"the request body is over this route's limit of {limit:,} bytes: send less"
    )


class BodyLimit:
    def __init__(self, app: ASGIApp, limit_for: LimitFor) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")  # the server has refused one that is no number
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await render(Request(scope), too_large(limit))(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)  # rendered by the app's handler, in the route's error shape
            return message

        await self.app(scope, limited, send)
