"""Asking the registry from the API, the CLI or another service, over rpc.registry.* (no import of
its aggregates or read model): the one way anything outside the registry learns what it holds.

    registry = RegistryClient(nc, actor)
    version = await registry.ask("resolve", name="smollm2-ft", ref="3")  # what may be served

A refusal comes back as the registry's own exception class (VersionDeletedError...), with its
message; no registry answering is BusUnavailableError.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from nats.aio.client import Client
from pydantic import BaseModel, Field

from contracts import Actor
from contracts.events.models import ArtifactRef
from services.registry import domain
from services.registry.adapters.rpc_server import SUBJECT_PREFIX
from services.runtime import rpc

_ERRORS: dict[str, type[domain.RegistryError]] = {
    c.__name__: c for c in vars(domain).values() if isinstance(c, type) and issubclass(c, domain.RegistryError)
}


class ModelVersionRow(BaseModel):
    """One registered version of a fine-tuned model, with its lineage, state and footprint."""

    name: str
    version: int
    job_id: str = Field(description="The job that trained it.")
    base_model: str
    dataset_id: str
    registered_at: datetime
    artifacts: list[ArtifactRef]
    status: Literal["active", "deprecated", "deleted"]
    deleted_at: datetime | None = None
    purged: bool = Field(description="A deleted version's artifacts are gone from the store.")
    verified: bool | None = Field(description="The verification verdict; None while not yet verified.")
    aliases: list[str]
    final_loss: float | None = None
    energy_kwh: float | None = Field(None, description="Energy of the job that trained it.")
    emissions_g: float | None = Field(None, description="gCO2eq of the job that trained it.")


class RegistryRefusedError(domain.RegistryError):
    """The registry refused the request for a reason without a class of its own here (bad parameters...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class RegistryClient:
    def __init__(self, nc: Client, actor: Actor, timeout: float = 30.0) -> None:
        self.nc, self.actor, self.timeout = nc, actor, timeout

    async def ask(self, method: str, timeout: float | None = None, **params: Any) -> Any:
        body = json.dumps({"params": params, "actor": self.actor.model_dump(mode="json")}).encode()
        reply = await rpc.request(self.nc, f"{SUBJECT_PREFIX}.{method}", body, timeout or self.timeout, "registry")
        if reply["ok"]:
            return reply["result"]
        kind, message = reply["error"]["type"], reply["error"]["message"]
        error = _ERRORS.get(kind)
        raise error(message) if error is not None else RegistryRefusedError(kind, message)

    async def version_rows(self) -> list[ModelVersionRow]:
        """Every version of every model, newest first, deleted and failed ones included."""
        return [ModelVersionRow.model_validate(row) for row in await self.ask("version_rows")]
