"""`/api/v1` lists for the dashboard: jobs, datasets and base models, from the API's overview read
model (rebuilt from the log when the API starts, then kept current; it may trail a command's reply
by the moment the event takes to reach the stream)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.api.dependencies import Caller, OverviewView

router = APIRouter(prefix="/api/v1")


@router.get("/jobs")
async def list_jobs(_: Caller, overview: OverviewView) -> dict[str, Any]:
    """Every job, newest first: status, progress, last loss, throughput, energy and CO2 so far."""
    return {"jobs": overview.job_rows()}


@router.get("/datasets")
async def list_datasets(_: Caller, overview: OverviewView) -> dict[str, Any]:
    """Every registered dataset, newest first, with its validation outcome."""
    return {"datasets": overview.dataset_rows()}


@router.get("/base-models")
async def list_base_models(_: Caller, overview: OverviewView) -> dict[str, Any]:
    """The base models jobs may fine-tune (`config.base_model` takes the name)."""
    return {"base_models": overview.base_model_rows()}
