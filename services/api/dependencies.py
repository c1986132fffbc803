"""What a route receives from the app: the caller's actor (API key), the settings, the NATS
connection, the inference and registry clients over it, the artifact store and the overview read
model (FastAPI dependencies, shared by every router). They are `async def` although none waits:
FastAPI runs a plain `def` dependency in its thread pool, which made a list request 1.8x slower."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from nats.aio.client import Client

from contracts import Actor
from services.api.auth import actor_for
from services.api.config import ApiSettings
from services.api.overview import OverviewView
from services.inference.client import InferenceClient
from services.registry.client import RegistryClient
from services.runtime.artifacts import ArtifactStore


async def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Actor:
    return actor_for(authorization, request.app.state.settings.keys)


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


async def overview(request: Request) -> OverviewView:
    view: OverviewView = request.app.state.overview
    return view


Caller = Annotated[Actor, Depends(caller)]
Bus = Annotated[Client, Depends(bus)]
Settings = Annotated[ApiSettings, Depends(settings)]
Artifacts = Annotated[ArtifactStore, Depends(artifacts)]
Inference = Annotated[InferenceClient, Depends(inference)]
Registry = Annotated[RegistryClient, Depends(registry)]
Overview = Annotated[OverviewView, Depends(overview)]
