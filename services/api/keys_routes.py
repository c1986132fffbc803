"""`/api/v1/keys`: API keys, for admins. A new key's secret is made here, answered once and kept
nowhere: the registry records only its hash (services/registry/keys.py), and every API process
refuses a revoked key as soon as the revocation reaches its overview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from contracts.base import Role
from services.api.dependencies import Caller, Registry
from services.api.errors import PROBLEM_RESPONSES
from services.registry.adapters.rpc import Changed
from services.registry.keys import issue
from services.registry.replies import ApiKeyRow, KeyCreated
from services.runtime import access

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
KeyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="The key's id.")]


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="Who or what will use the key.")
    role: Role = Field(description="viewer (reads), member (creates and runs its own), admin (everything).")
    tenant: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Whose resources it sees and creates; default its name."
    )
    key_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Its id in the audit history and reports; default random."
    )


class IssuedKey(BaseModel):
    key_id: str = Field(description="What requests made with the key are recorded under.")
    name: str
    role: Role
    tenant: str
    secret: str = Field(description="The key itself: shown this once, send it as `Authorization: Bearer <secret>`.")


class ApiKeys(BaseModel):
    keys: list[ApiKeyRow]


@router.post("/keys", status_code=201)
async def create_key(registry: Registry, actor: Caller, body: NewKey) -> IssuedKey:
    """Issue an API key (admins). The answer holds its secret, which is not shown again."""
    access.require(actor, "admin", "creating an API key")
    secret, key = issue(body.name, body.role, body.tenant, body.key_id)
    created: KeyCreated = await registry.ask("create_key", key=key.model_dump(mode="json"))
    return IssuedKey(key_id=created.key_id, name=key.name, role=key.role, tenant=key.tenant, secret=secret)


@router.get("/keys")
async def list_keys(registry: Registry) -> ApiKeys:
    """Every API key, revoked ones included (admins; never a secret)."""
    return ApiKeys(keys=await registry.ask("api_keys"))


@router.post("/keys/{key_id}/revoke")
async def revoke_key(
    registry: Registry,
    key_id: KeyId,
    reason: Annotated[str | None, Query(max_length=1000, description="Why, for the audit history.")] = None,
) -> Changed:
    """Revoke a key (admins): every API process refuses it within a second."""
    changed: Changed = await registry.ask("revoke_key", key_id=key_id, reason=reason)
    return changed
