"""The rpc runtime every service serves through (FastStream subscribers on the service's connection):
a request sent from another connection right after `rpc.start` finds its subscriptions (nats-py's
flush() alone let ~3 in 100 such first requests fail with "no responders": its PING overtakes the
SUBs still in the client's buffer); requests are answered side by side; a malformed body, a refusal
and a crash each get an answer in the one problem shape; stopping leaves the connection open."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import BaseModel, Field

from services.runtime import rpc
from services.runtime.jetstream import connect
from services.runtime.problems import ServiceError

pytestmark = pytest.mark.asyncio
STARTS = 60


class Echo(BaseModel):
    text: str = Field(min_length=1)
    wait_s: float = 0.0


class Echoed(BaseModel):
    text: str


class NoSuchThingError(ServiceError):
    status = 404


class EchoHandlers:
    async def echo(self, request: Echo) -> Echoed:
        await asyncio.sleep(request.wait_s)
        if request.text == "missing":
            raise NoSuchThingError("no such thing: name one that exists")
        return Echoed(text=request.text)

    def crash(self, request: Echo) -> Echoed:
        raise RuntimeError("disk on fire")


def echo_service(prefix: str) -> rpc.RpcService:
    routes = tuple(rpc.Route(name, Echo, Echoed, EchoHandlers.echo) for name in ("a", "b", "c", "d", "e", "last"))
    return rpc.RpcService(prefix, "q", (*routes, rpc.Route("crash", Echo, Echoed, EchoHandlers.crash)))


async def test_the_first_request_after_start_is_answered_every_time(shared_nats) -> None:  # type: ignore[no-untyped-def]
    caller = await connect(shared_nats.url, "rpc-start-caller")
    try:
        for attempt in range(STARTS):
            service_nc = await connect(shared_nats.url, f"rpc-start-service-{attempt}")
            service = echo_service(f"rpc.start{attempt}")
            served = rpc.broker(service_nc, service, EchoHandlers())
            await rpc.start(served)
            reply = await rpc.call(caller, f"rpc.start{attempt}.last", Echo(text="hello"), Echoed, 5.0, "test")
            assert reply == Echoed(text="hello"), attempt
            await served.stop()
            assert service_nc.is_connected, "stopping the subscribers must leave the service's connection open"
            await service_nc.close()
    finally:
        await caller.close()


async def test_requests_are_answered_side_by_side_and_every_failure_gets_a_problem(shared_nats) -> None:  # type: ignore[no-untyped-def]
    caller = await connect(shared_nats.url, "rpc-caller")
    service_nc = await connect(shared_nats.url, "rpc-service")
    served = rpc.broker(service_nc, echo_service("rpc.side"), EchoHandlers())
    await rpc.start(served)
    try:
        started = time.monotonic()
        slow = [rpc.call(caller, "rpc.side.a", Echo(text=str(i), wait_s=1.0), Echoed, 10.0, "test") for i in range(8)]
        answers = await asyncio.gather(*slow)
        took = time.monotonic() - started
        with pytest.raises(rpc.RpcFailed) as malformed:
            await rpc.call(caller, "rpc.side.a", {"text": "", "extra": 1}, Echoed, 5.0, "test")
        with pytest.raises(rpc.RpcFailed) as refused:
            await rpc.call(caller, "rpc.side.a", Echo(text="missing"), Echoed, 5.0, "test")
        with pytest.raises(rpc.RpcFailed) as crashed:
            await rpc.call(caller, "rpc.side.crash", Echo(text="x"), Echoed, 5.0, "test")
        raw = await caller.request("rpc.side.b", b"not json at all", timeout=5.0)
    finally:
        await served.stop()
        await service_nc.close()
        await caller.close()

    assert [a.text for a in answers] == [str(i) for i in range(8)]
    assert took < 4.0, f"8 one-second requests took {took:.1f} s: they were answered one after another"
    bad = malformed.value.problem()
    assert (bad.status, bad.code, bad.type) == (400, "InvalidRequest", "urn:greentune:problem:InvalidRequest")
    assert [p.field for p in bad.problems] == ["text"]
    assert (refused.value.problem().status, refused.value.problem().code) == (404, "NoSuchThingError")
    assert refused.value.problem().detail == "no such thing: name one that exists"
    assert crashed.value.problem().status == 500 and "disk on fire" in crashed.value.problem().detail
    assert b'"ok":false' in raw.data and b"InvalidRequest" in raw.data
