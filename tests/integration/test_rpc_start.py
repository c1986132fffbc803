"""A service answers from the moment its start returns: a request sent from another connection right
after `RpcServer.start` finds its subscriptions (nats-py's flush() alone let ~3 in 100 such first
requests fail with "no responders": its PING overtakes the SUBs still in the client's buffer)."""

from __future__ import annotations

import pytest

from services.runtime.jetstream import connect
from services.runtime.rpc import Reply, RpcServer, ok, request

pytestmark = pytest.mark.asyncio
STARTS = 60


async def test_the_first_request_after_start_is_answered_every_time(shared_nats) -> None:  # type: ignore[no-untyped-def]
    async def answer(method: str, body: bytes) -> Reply:
        return ok({"method": method, "body": body.decode()})

    caller = await connect(shared_nats.url, "rpc-start-caller")
    try:
        for attempt in range(STARTS):
            service_nc = await connect(shared_nats.url, f"rpc-start-service-{attempt}")
            server = RpcServer(service_nc, f"rpc.start{attempt}", ["a", "b", "c", "d", "e", "last"], answer, "q")
            await server.start()
            reply = await request(caller, f"rpc.start{attempt}.last", b"hello", timeout=5.0, service="test")
            assert reply == ok({"method": "last", "body": "hello"}), attempt
            await server.stop()
            await service_nc.close()
    finally:
        await caller.close()
