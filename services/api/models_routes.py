"""`/api/v1/models`: the registry's catalogue of fine-tuned versions (lineage, verification, status,
aliases, footprint), asked of the registry itself, and serving a version for chat on `/v1`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from services.api.dependencies import Inference, Registry
from services.api.errors import error_body
from services.api.model_serving import NotServableError, serving_plan
from services.inference import protocol as rpc

router = APIRouter(prefix="/api/v1")
ModelName = Annotated[str, Path(min_length=1, max_length=200, description="The model's name in the catalogue.")]
Version = Annotated[int, Path(ge=1, description="The version number.")]


@router.get("/models")
async def list_model_versions(registry: Registry) -> dict[str, Any]:
    """Every registered version, newest first, with the job, base model and dataset it came from, its
    status (active, deprecated, deleted) and verification verdict."""
    return {"models": await registry.ask("version_rows")}


@router.post("/models/{name}/versions/{version}/serve")
async def serve_model_version(client: Inference, registry: Registry, name: ModelName, version: Version) -> JSONResponse:
    """Load the version into the inference service (a LoRA version as an adapter on its base);
    answers `model`, the id to use on /v1/chat/completions. A deleted version, or one that failed
    verification, is refused (409) with the registry's reason."""
    servable = await registry.ask("resolve", name=name, ref=str(version))
    bases = {row["name"]: (row["uri"], row["sha256"]) for row in await registry.ask("base_models")}
    try:
        plan = serving_plan(servable, bases.get(servable["base_model"]))
    except NotServableError as exc:
        return JSONResponse(error_body(str(exc), "invalid_request_error", "not_servable"), status_code=409)
    await client.load(
        plan.model,
        rpc.ArtifactLocation(**plan.source),
        plan.adapter,
        rpc.ArtifactLocation(**plan.adapter_source) if plan.adapter_source else None,
    )
    return JSONResponse({"model": plan.chat_model_id, "name": name, "version": version})
