"""`/api/v1/models`: the registry's catalogue of fine-tuned versions (lineage, verification,
aliases, footprint) from the API's overview, and serving a version for chat on `/v1`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from services.api.dependencies import Caller, Inference, OverviewView
from services.api.errors import error_body
from services.api.overview_models import NotServableError, serving_plan
from services.inference import protocol as rpc

router = APIRouter(prefix="/api/v1")
ModelName = Annotated[str, Path(min_length=1, max_length=200, description="The model's name in the catalogue.")]
Version = Annotated[int, Path(ge=1, description="The version number.")]


@router.get("/models")
async def list_model_versions(_: Caller, overview: OverviewView) -> dict[str, Any]:
    """Every registered version, newest first, with the job, base model and dataset it came from."""
    return {"models": overview.models.rows()}


@router.post("/models/{name}/versions/{version}/serve")
async def serve_model_version(
    client: Inference, _: Caller, overview: OverviewView, name: ModelName, version: Version
) -> JSONResponse:
    """Load the version into the inference service (a LoRA version as an adapter on its base);
    answers `model`, the id to use on /v1/chat/completions."""
    row = overview.models.find(name, version)
    if row is None:
        message = f"no version {version} of model {name!r} in the catalogue (GET /api/v1/models lists them)"
        return JSONResponse(error_body(message, "invalid_request_error", "model_not_found", "name"), status_code=404)
    base = overview.base_models.get(row.base_model)
    try:
        plan = serving_plan(row, (base.uri, base.sha256) if base else None)
    except NotServableError as exc:
        return JSONResponse(error_body(str(exc), "invalid_request_error", "not_servable"), status_code=409)
    await client.load(
        plan.model,
        rpc.ArtifactLocation(**plan.source),
        plan.adapter,
        rpc.ArtifactLocation(**plan.adapter_source) if plan.adapter_source else None,
    )
    return JSONResponse({"model": plan.chat_model_id, "name": name, "version": version})
