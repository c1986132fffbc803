"""The API gateway's FastAPI application and its process entry point (`greentune api serve`).

It holds one NATS connection for its whole life. Commands and lookups are answered by the services
behind it over `rpc.*`; the dashboard's lists come from its overview read model, kept current
from the log and stored between starts (services/api/overview.py). It serves the built dashboard at `/`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from contracts.schema_export import ASYNCAPI_DOCUMENT
from contracts.stream import STREAM_NAME
from services.api import errors
from services.api.auth import KEY_RECIPE
from services.api.body_limit import BodyLimit
from services.api.config import ApiSettings
from services.api.dashboard import mount_dashboard
from services.api.health import router as health_router
from services.api.jobs_routes import router as jobs_router
from services.api.key_slots import KeySlots
from services.api.keys_routes import router as keys_router
from services.api.metrics import ApiMetrics
from services.api.metrics import router as metrics_router
from services.api.models_routes import router as models_router
from services.api.openai_routes import router as openai_router
from services.api.overview import KEY_EVENTS
from services.api.overview_feed import overview_followed
from services.api.overview_routes import router as overview_router
from services.api.shutdown import serve
from services.inference.client import InferenceClient
from services.runtime.artifacts import ArtifactSettings, open_artifact_store
from services.runtime.jetstream import connect, ensure_stream
from services.runtime.logging import configure_logging, get_logger
from services.runtime.settings import KernelSettings

KEY_CHECK_S = 10.0  # seconds a network bind waits for NATS to tell whether an API key exists


def create_app(settings: ApiSettings, kernel: KernelSettings) -> FastAPI:
    log = get_logger("api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nc = await connect(kernel.nats_url, "greentune-api", identity="api")
        app.state.nc = nc
        app.state.inference = InferenceClient(nc, timeout=settings.request_timeout_s)
        app.state.artifacts = open_artifact_store(ArtifactSettings(), kernel.data_dir)
        log.info("api listening", host=settings.host, port=settings.port)
        try:
            overview_path = settings.overview_path or kernel.data_dir / "views" / "api-overview.sqlite"
            async with overview_followed(nc, overview_path, kernel.stream_replicas) as followed:
                app.state.overview, app.state.followed = followed.view, followed
                yield
        finally:
            await nc.drain()

    app = FastAPI(
        title="greentune", summary="Fine-tune and serve LLMs with measured energy and CO2.", lifespan=lifespan
    )
    app.state.settings = settings
    app.state.data_dir = kernel.data_dir
    app.state.stopping = asyncio.Event()  # set by services.api.shutdown.serve when the server stops
    errors.install(app)
    app.add_middleware(BodyLimit, limit_for=settings.body_limit)
    app.state.metrics = ApiMetrics()
    app.state.metrics.instrument(app)
    app.state.slots = KeySlots(settings.max_concurrent_per_key, settings.max_requests_per_minute_per_key)
    app.include_router(openai_router)
    app.include_router(overview_router)
    app.include_router(jobs_router)
    app.include_router(models_router)
    app.include_router(keys_router)
    app.include_router(health_router)
    app.include_router(metrics_router)

    @app.get("/healthz")
    async def health(request: Request) -> Any:
        """200 once NATS is connected and the overview has caught up with the log; 503, saying which, before."""
        connected, caught_up = request.app.state.nc.is_connected, request.app.state.followed.ready
        body = {
            "nats": "connected" if connected else "reconnecting",
            "overview": "caught_up" if caught_up else "replaying",
        }
        return JSONResponse(body, status_code=200 if connected and caught_up else 503)

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi() -> Response:
        """The AsyncAPI document of the NATS wire: every rpc and event subject with its schema."""
        return Response(ASYNCAPI_DOCUMENT.read_bytes(), media_type="application/json")

    mount_dashboard(app, settings.dashboard_dir)  # last: it answers every path the API does not
    return app


def main() -> None:
    try:
        kernel, settings = KernelSettings(), ApiSettings()
    except ValidationError as exc:  # said in one line each, without a traceback
        sys.exit(
            "greentune api: " + "\n".join(str(error["msg"]).removeprefix("Value error, ") for error in exc.errors())
        )
    configure_logging(kernel.log_level)
    if settings.refuse_without_keys(has_keys=False) and (refusal := asyncio.run(_refusal(settings, kernel))):
        sys.exit(f"greentune api: {refusal}")
    serve(create_app(settings, kernel), settings.host, settings.port, kernel.log_level)


async def _refusal(settings: ApiSettings, kernel: KernelSettings) -> str | None:
    """Why a network bind must not serve: no API key was ever created (the log holds none), or the
    log cannot be read to tell."""
    try:
        async with asyncio.timeout(KEY_CHECK_S):
            nc = await connect(kernel.nats_url, "greentune-api-check", identity="api")
    except TimeoutError:
        return (
            f"GREENTUNE_API_HOST={settings.host} needs an API key, but NATS at {kernel.nats_url} did not answer "
            f"within {KEY_CHECK_S:.0f} s to say whether one exists: start it (or everything with `greentune up`); "
            f"if no key exists yet, {KEY_RECIPE}"
        )
    try:
        await ensure_stream(nc.jetstream(), kernel.stream_replicas)
        try:
            await nc.jetstream().get_last_msg(STREAM_NAME, KEY_EVENTS)
            has_keys = True
        except NotFoundError:
            has_keys = False
        return settings.refuse_without_keys(has_keys)
    finally:
        await nc.close()


if __name__ == "__main__":
    main()
