"""What a route receives from the app: the caller's actor (API key), the settings, the NATS
connection, the inference and registry clients over it and the artifact store (FastAPI
dependencies, shared by every router), and the overview read model (`overview_of`). They are
`async def` although none waits: FastAPI runs a plain `def` dependency in its thread pool, which
made a list request 1.8x slower."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from nats.aio.client import Client

from contracts import Actor
from services.api.auth import actor_for
from services.api.config import ApiSettings
from services.api.errors import ApiProblem
from services.api.overview import OverviewView
from services.inference.client import InferenceClient
from services.registry.client import RegistryClient
from services.runtime.artifacts import ArtifactStore


class ApiKey(HTTPBearer):
    """The caller's actor, from `Authorization: Bearer <key>` (documented as the API's security scheme)."""

    async def __call__(self, request: Request) -> Actor:  # type: ignore[override]
        credentials = await super().__call__(request)
        followed = request.app.state.followed
        if not followed.ready:  # the keys are not all known before the overview has caught up
            detail = "the API is catching up with the event log: retry in a moment"
            raise ApiProblem(503, "starting", detail, headers={"Retry-After": "1"})
        return actor_for(credentials.credentials if credentials else None, followed.view)


caller = ApiKey(auto_error=False, description="An API key: `Authorization: Bearer <key>`.")


async def capped_caller(request: Request, actor: Annotated[Actor, Depends(caller)]) -> AsyncIterator[Actor]:
    """The caller, holding one of its key's slots until its response has been sent (key_slots.py)."""
    with request.app.state.slots.held(actor.id):
        yield actor


async def bus(request: Request) -> Client:
    nc: Client = request.app.state.nc
    return nc


async def settings(request: Request) -> ApiSettings:
    api: ApiSettings = request.app.state.settings
    return api


async def artifacts(request: Request) -> ArtifactStore:
    store: ArtifactStore = request.app.state.artifacts
    return store


async def inference(request: Request) -> InferenceClient:
    client: InferenceClient = request.app.state.inference
    return client


async def registry(request: Request, actor: Annotated[Actor, Depends(caller)]) -> RegistryClient:
    """The registry, asked on behalf of the caller."""
    return RegistryClient(request.app.state.nc, actor, timeout=request.app.state.settings.request_timeout_s)


def overview_of(request: Request) -> OverviewView:
    """The overview read model, read off the app by the list routes themselves: as a dependency of
    its own it cost each list request 10 us, a fifth of its time in the API."""
    view: OverviewView = request.app.state.overview
    return view


Caller = Annotated[Actor, Depends(caller)]
CappedCaller = Annotated[Actor, Depends(capped_caller)]  # for the work that holds engines or the queue
Bus = Annotated[Client, Depends(bus)]
Settings = Annotated[ApiSettings, Depends(settings)]
Artifacts = Annotated[ArtifactStore, Depends(artifacts)]
Inference = Annotated[InferenceClient, Depends(inference)]
Registry = Annotated[RegistryClient, Depends(registry)]
