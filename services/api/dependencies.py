"""What a route receives from the app: the caller's actor (API key), the NATS connection, the
inference client over it and the overview read model (FastAPI dependencies, shared by every router)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from nats.aio.client import Client

from contracts import Actor
from services.api.auth import actor_for
from services.api.overview import Overview
from services.inference.client import InferenceClient


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Actor:
    return actor_for(authorization, request.app.state.settings.keys)


def bus(request: Request) -> Client:
    nc: Client = request.app.state.nc
    return nc


def inference(request: Request) -> InferenceClient:
    client: InferenceClient = request.app.state.inference
    return client


def overview(request: Request) -> Overview:
    view: Overview = request.app.state.overview
    return view


Caller = Annotated[Actor, Depends(caller)]
Bus = Annotated[Client, Depends(bus)]
Inference = Annotated[InferenceClient, Depends(inference)]
OverviewView = Annotated[Overview, Depends(overview)]
