"""Request/reply on core NATS subjects `rpc.<service>.<method>`, outside the event stream, served by
FastStream subscribers; one shape for every service.

A service lists its methods as `Route`s (name, request model, reply type, the handler method) in
one `RpcService`. `RpcService.router(handlers)` gives a FastStream router with one subscriber per
subject, in a queue group so several processes of the service share the load, each answering many
requests at a time. The request body is the request model's JSON; the reply is
`{"ok": true, "result": <reply>}` or `{"ok": false, "error": <ProblemDetails>}`: a malformed
request, a refusal (`ServiceError`) and an internal failure all get an answer, so a caller never
waits for a timeout because of what it sent. `broker` serves them on the service's own NATS
connection. The same routes, without handlers, give the AsyncAPI document (services/asyncapi.py).

`call` is the calling side every client uses: it returns the typed result or raises `RpcFailed`
(with the service's problem), and BusUnavailableError when no service answers in time.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from faststream._internal.broker import BrokerUsecase
from faststream.middlewares import ExceptionMiddleware
from faststream.nats import NatsBroker, NatsMessage, NatsRouter
from nats.aio.client import Client
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from services.runtime.errors import BusUnavailableError
from services.runtime.logging import get_logger
from services.runtime.problems import ProblemDetails, ProblemItem, ServiceError

T = TypeVar("T")
MAX_CONCURRENT = 64  # requests one subscriber answers at a time
_FASTSTREAM_LOG = logging.getLogger("greentune.faststream")  # its lines per request and task are for debugging
_FASTSTREAM_LOG.setLevel(logging.WARNING)


class Reply(BaseModel, Generic[T]):
    """Every rpc reply: the result, or the problem."""

    ok: bool
    result: T | None = None
    error: ProblemDetails | None = None


@dataclass(frozen=True)
class Route:
    """One method: `rpc.<service>.<name>` takes `request`, answers `reply`. `handler` is the handler
    class's method, called as handler(handlers, request); a plain function runs in a worker thread.
    A `stream` route's handler is called as handler(handlers, request, reply_subject) and sends what
    it answers there itself; a failure is sent there as the failed reply."""

    name: str
    request: type[BaseModel]
    reply: Any
    handler: Callable[..., Any]
    summary: str = ""
    stream: bool = False  # the handler sends its own messages to the reply subject (its third argument)


class RpcFailed(ServiceError):
    """A service refused a request or failed answering it; `problem` is its answer."""

    def __init__(self, problem: ProblemDetails) -> None:
        super().__init__(problem.detail)
        self.problem_details = problem

    def error_code(self) -> str:
        return self.problem_details.code

    def problem(self) -> ProblemDetails:
        return self.problem_details


class HealthRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceHealth(BaseModel):
    """`health`: the service process answering, and for how long it has run."""

    service: str = Field(description="The service (its queue group).")
    pid: int = Field(description="The process that answered (one of the group's).")
    uptime_s: float = Field(description="Seconds since that process imported its rpc layer.")


_STARTED = time.monotonic()


def _health_route(queue: str) -> Route:
    async def health(_handlers: object, _request: HealthRequest) -> ServiceHealth:
        """Whether the service answers: any instance of its queue group, with its pid and uptime."""
        return ServiceHealth(service=queue, pid=os.getpid(), uptime_s=round(time.monotonic() - _STARTED, 3))

    return Route("health", HealthRequest, ServiceHealth, health)


@dataclass(frozen=True)
class RpcService:
    """A service's rpc subjects: `<prefix>.<route name>`, served by queue group `queue`; every
    service also answers `<prefix>.health` (ServiceHealth), which /health/ready asks."""

    prefix: str
    queue: str
    routes: tuple[Route, ...]
    title: str = ""
    malformed: Callable[[Route, list[ErrorDetails]], ServiceError] = field(default=lambda r, e: malformed_request(r, e))

    def __post_init__(self) -> None:
        object.__setattr__(self, "routes", (*self.routes, _health_route(self.queue)))

    def subject(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def route(self, name: str) -> Route:
        return next(r for r in self.routes if r.name == name)

    def router(self, handlers: object | None) -> NatsRouter:
        """One subscriber per route, answering with `handlers` (None: only to document them)."""
        router = NatsRouter()
        log = get_logger(f"{self.prefix}")
        for route in self.routes:
            subscriber = router.subscriber(
                self.subject(route.name),
                queue=self.queue,
                max_workers=MAX_CONCURRENT,
                no_reply=route.stream,
                title=self.subject(route.name),
                description=route.summary or summary_of(route.handler.__doc__),
            )
            subscriber(_answering(route, handlers, self.subject(route.name), log))
        return router


def summary_of(doc: str | None) -> str:
    """A docstring's first paragraph on one line (what the AsyncAPI document shows)."""
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")


def _answering(route: Route, handlers: object | None, subject: str, log: Any) -> Callable[..., Any]:
    reply = Reply[route.reply]  # type: ignore[name-defined]  # validates what the handler returns
    blocking = not inspect.iscoroutinefunction(route.handler)

    async def answer(body: BaseModel, message: NatsMessage) -> bytes | None:
        try:
            if route.stream:
                if not message.reply_to:
                    raise MissingReplySubjectError(f"{subject} sends its answer to a reply subject: give one")
                await route.handler(handlers, body, message.reply_to)
                return None
            if blocking:
                result = await asyncio.to_thread(route.handler, handlers, body)
            else:
                result = await route.handler(handlers, body)
            return reply(ok=True, result=result).model_dump_json().encode()
        except ServiceError as exc:
            log.info("request refused", subject=subject, error=str(exc))
            answer = failure(exc.problem())
        except Exception as exc:
            log.exception("request failed", subject=subject)
            detail = f"internal error in {subject}: {exc!r}; see the service's log"
            answer = failure(ProblemDetails.of(500, "InternalError", detail))
        if route.stream and message.reply_to:
            await message.raw_message.respond(answer)
        return answer

    # FastStream reads the request model off the signature: it validates each body against it and
    # documents it in the AsyncAPI schema. `message` is FastStream's (taken from its context).
    answer.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=route.request),
            inspect.Parameter("message", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=NatsMessage),
        ]
    )
    answer.__name__ = answer.__qualname__ = subject.replace(".", "_")
    return answer


class MissingReplySubjectError(ServiceError):
    """A request that is answered on its reply subject came without one."""


def failure(problem: ProblemDetails) -> bytes:
    return Reply[None](ok=False, error=problem).model_dump_json().encode()


def malformed_request(route: Route, errors: list[ErrorDetails]) -> ServiceError:
    """The refusal of a body that does not fit the route's request model: every field at fault."""
    problems = [ProblemItem(message=e["msg"], field=".".join(map(str, e["loc"])) or None) for e in errors]
    detail = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
    return MalformedRequestError(f"malformed {route.request.__name__}: {detail}", problems)


class MalformedRequestError(ServiceError):
    code = "InvalidRequest"

    def __init__(self, message: str, problems: Sequence[ProblemItem]) -> None:
        super().__init__(message)
        self.problems = problems


class _ServiceBroker(NatsBroker):
    """A FastStream broker on the service's own NATS connection (one connection per process, with
    its reconnect policy and credentials); stopping it stops the subscribers, not the connection.
    Relies on NatsBroker's `_connect` hook and `config.connect`, pinned with faststream in the lock."""

    def __init__(self, nc: Client, **options: Any) -> None:
        super().__init__(**options)
        self._shared = nc

    async def _connect(self) -> Client:
        self.config.connect(self._shared)
        return self._shared

    async def stop(self, *exc_info: Any) -> None:
        await BrokerUsecase.stop(self, *exc_info)  # NatsBroker.stop would drain the connection
        self._connection = None
        self.config.disconnect()


def broker(nc: Client, service: RpcService, handlers: object) -> NatsBroker:
    """A FastStream broker answering the service's subjects on `nc` once started."""

    async def refuse_malformed(exc: ValidationError, message: NatsMessage) -> None:
        # FastStream validates the body before the handler runs; the caller still gets an answer
        route = service.route(message.raw_message.subject.removeprefix(service.prefix + "."))
        errors = [cast(ErrorDetails, {**e, "loc": e["loc"][1:]}) for e in exc.errors()]  # drop the handler's `body`
        if message.reply_to:
            await message.raw_message.respond(failure(service.malformed(route, errors).problem()))

    result = _ServiceBroker(
        nc,
        middlewares=[ExceptionMiddleware(handlers={ValidationError: refuse_malformed})],
        graceful_timeout=30.0,  # stop() lets requests being answered finish
        logger=_FASTSTREAM_LOG,
    )
    result.include_router(service.router(handlers))
    return result


async def start(rpc_broker: NatsBroker) -> None:
    """Start answering; returns once NATS routes requests from any connection to the subscribers."""
    try:
        await rpc_broker.start()
    except Exception as exc:
        raise BusUnavailableError(f"cannot serve rpc subjects: {exc!r}") from exc
    await subscriptions_registered(rpc_broker.connection)


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


async def call(
    nc: Client, subject: str, request: BaseModel | dict[str, Any], reply: Any, timeout: float, service: str
) -> Any:
    """Ask `subject` and return its result as `reply` (a type); RpcFailed when the service refuses
    (a dict request is validated by the service) or fails, BusUnavailableError when none answers in time."""
    body = request.model_dump_json(exclude_none=True) if isinstance(request, BaseModel) else json.dumps(request)
    try:
        msg = await nc.request(subject, body.encode(), timeout=timeout)
    except Exception as exc:  # nats-py: NoRespondersError, TimeoutError, ConnectionClosedError
        raise BusUnavailableError(f"no {service} answered {subject} within {timeout} s: {exc!r}") from exc
    answer = Reply[reply].model_validate_json(msg.data)
    if answer.error is not None:
        raise RpcFailed(answer.error)
    return answer.result
