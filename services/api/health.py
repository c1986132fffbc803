"""`/health/live` and `/health/ready`: whether the API process runs, and whether it can serve: NATS
and the EVENTS stream, its overview caught up with the log, the artifact store, every service
answering its `rpc.<service>.health`, the engines the inference service has loaded, and the free
disk under the data dir. Each dependency is checked at once (a second at most each) and listed with
its state, so a person and a load balancer read the same answer: 200 when every one is ok, else 503."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contracts.stream import STREAM_NAME
from services.runtime import rpc
from services.runtime.rpc import ServiceHealth

router = APIRouter(prefix="/health", tags=["health"])
SERVICES = ("trainer", "inference", "registry", "carbon")
CHECK_S = 1.0  # seconds one check may take before it counts as failed
MIN_FREE_BYTES = 1 << 30  # less free disk than this under the data dir: not ready


class Check(BaseModel):
    ok: bool
    detail: str = Field(description="What was found, or what is wrong.")
    data: dict[str, Any] | None = None


class Readiness(BaseModel):
    status: str = Field(description="`ready` (every check ok) or `unready`.")
    checks: dict[str, Check]


@router.get("/live")
async def live() -> dict[str, str]:
    """200 while the API process runs and answers."""
    return {"status": "live"}


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(request: Request) -> JSONResponse:
    """Every dependency with its state; 200 when all are ok, 503 (saying which is not) otherwise."""
    state = request.app.state
    names = ["nats", "events_stream", "overview", "artifacts", "disk", *SERVICES]
    results = await asyncio.gather(
        _timed(_nats(state)),
        _timed(_stream(state)),
        _timed(_overview(state)),
        _timed(asyncio.to_thread(_artifacts, state)),
        _timed(asyncio.to_thread(_disk, state.data_dir)),
        *(_timed(_service(state, name)) for name in SERVICES),
    )
    checks = dict(zip(names, results, strict=True))
    ok = all(check.ok for check in checks.values())
    body = Readiness(status="ready" if ok else "unready", checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


async def _timed(check: Any) -> Check:
    began = time.monotonic()
    try:
        async with asyncio.timeout(CHECK_S):
            result: Check = await check
            return result
    except TimeoutError:
        return Check(ok=False, detail=f"no answer within {CHECK_S:.0f} s")
    except Exception as exc:  # a failed check is a state to report, not an error of this route
        return Check(ok=False, detail=f"{exc!r} after {time.monotonic() - began:.2f} s")


async def _nats(state: Any) -> Check:
    connected = state.nc.is_connected
    return Check(ok=connected, detail=f"{'connected to' if connected else 'reconnecting to'} {state.nc.connected_url}")


async def _stream(state: Any) -> Check:
    info = await state.nc.jetstream().stream_info(STREAM_NAME)
    return Check(ok=True, detail=f"{info.state.messages} events", data={"last_seq": info.state.last_seq})


async def _overview(state: Any) -> Check:
    caught_up = state.followed.ready
    return Check(ok=caught_up, detail="caught up with the log" if caught_up else "replaying the log")


def _artifacts(state: Any) -> Check:
    state.artifacts.exists("health/probe")  # a real round trip to the store
    return Check(ok=True, detail=f"answering ({type(state.artifacts).__name__})")


def _disk(data_dir: Path) -> Check:
    usage = shutil.disk_usage(data_dir)
    ok = usage.free >= MIN_FREE_BYTES
    detail = f"{usage.free / 2**30:.1f} GiB free of {usage.total / 2**30:.1f} GiB under {data_dir}"
    return Check(ok=ok, detail=detail if ok else f"only {detail}", data={"free_bytes": usage.free})


async def _service(state: Any, name: str) -> Check:
    try:
        answer: ServiceHealth = await rpc.call(state.nc, f"rpc.{name}.health", {}, ServiceHealth, CHECK_S, name)
    except Exception as exc:
        return Check(ok=False, detail=f"not answering rpc.{name}.health: {exc}")
    data: dict[str, Any] = answer.model_dump()
    if name == "inference":  # what it serves, besides that it answers
        data["engines"] = [engine.model_dump() for engine in await state.inference.models()]
    return Check(ok=True, detail=f"answering (pid {answer.pid}, up {answer.uptime_s:.0f} s)", data=data)
