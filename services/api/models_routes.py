"""`/api/v1/models`: the registry's catalogue of fine-tuned versions (lineage, verification, status,
aliases, footprint), asked of the registry itself, and serving a version for chat on `/v1`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from services.api.dependencies import Inference, Registry
from services.api.errors import PROBLEM_RESPONSES, ApiProblem
from services.api.model_serving import NotServableError, serving_plan
from services.inference import protocol as wire
from services.registry.replies import CataloguedBaseModel, ModelVersionRow, ServableVersion

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
ModelName = Annotated[str, Path(min_length=1, max_length=200, description="The model's name in the catalogue.")]
Version = Annotated[int, Path(ge=1, description="The version number.")]


class ModelVersions(BaseModel):
    models: list[ModelVersionRow]


class ModelServed(BaseModel):
    model: str = Field(description="The id to chat with on /v1/chat/completions.")
    name: str
    version: int


@router.get("/models")
async def list_model_versions(registry: Registry) -> ModelVersions:
    """Every registered version, newest first, with the job, base model and dataset it came from, its
    status (active, deprecated, deleted) and verification verdict."""
    return ModelVersions(models=await registry.version_rows())


@router.post("/models/{name}/versions/{version}/serve")
async def serve_model_version(client: Inference, registry: Registry, name: ModelName, version: Version) -> ModelServed:
    """Load the version into the inference service (a LoRA version as an adapter on its base);
    answers `model`, the id to use on /v1/chat/completions. A deleted version, or one that failed
    verification, is refused (409) with the registry's reason."""
    servable: ServableVersion = await registry.ask("resolve", name=name, ref=str(version))
    base_models: list[CataloguedBaseModel] = await registry.ask("base_models")
    bases = {row.name: (row.uri, row.sha256) for row in base_models}
    try:
        plan = serving_plan(servable, bases.get(servable.base_model))
    except NotServableError as exc:
        raise ApiProblem(409, "not_servable", str(exc)) from exc
    await client.load(
        plan.model,
        wire.ArtifactLocation(**plan.source),
        plan.adapter,
        wire.ArtifactLocation(**plan.adapter_source) if plan.adapter_source else None,
        owner=servable.owner,
    )
    return ModelServed(model=plan.chat_model_id, name=name, version=version)
