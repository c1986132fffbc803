"""The registry over NATS request/reply: `rpc.registry.<method>`, JSON in, JSON out.

Request: {"params": {...}, "actor": {"kind": "cli", "id": "alice"}}. Reply: {"ok": true, "result": ...}
or {"ok": false, "error": {"type": "UnknownModelError", "message": "..."}}. Queries read the read
model; commands and `resolve` (what an inference engine asks before serving) use the Model
aggregate, so they never act on a stale view. Blocking work runs in threads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts import Actor
from services.registry.domain import RegistryError, UnknownVersionError
from services.registry.handlers import Registry
from services.registry.read_model import RegistryView
from services.runtime import rpc
from services.runtime.aggregate import Causation
from services.runtime.artifacts import ArtifactError
from services.runtime.logging import get_logger

SUBJECT_PREFIX = "rpc.registry"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelParams(_Params):
    name: str = Field(min_length=1)


class VersionParams(ModelParams):
    version: int = Field(ge=1)


class RefParams(ModelParams):
    ref: str = Field("latest", min_length=1, description="A version number, an alias or `latest`.")


class AliasParams(VersionParams):
    alias: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")


class ReasonParams(VersionParams):
    reason: str = Field(min_length=1, max_length=1000)


class HistoryParams(ModelParams):
    alias: str | None = None


class PurgeParams(_Params):
    older_than_days: float | None = Field(None, ge=0)


class RegistryRpc:
    def __init__(self, registry: Registry, view: RegistryView, retention_days: float) -> None:
        self.registry, self.view, self.retention_days = registry, view, retention_days
        self.log = get_logger("registry.rpc")
        self._server: rpc.RpcServer | None = None
        self.methods: dict[str, tuple[type[_Params], Callable[[Any, Causation], object]]] = {
            "catalogue": (_Params, lambda p, c: self.view.catalogue()),
            "versions": (ModelParams, lambda p, c: self.view.versions(p.name)),
            "version_rows": (_Params, lambda p, c: self.view.version_rows()),
            "show": (RefParams, self.show),
            "aliases": (HistoryParams, lambda p, c: self.view.alias_history(p.name, p.alias)),
            "base_models": (_Params, lambda p, c: self.view.base_models()),
            "resolve": (RefParams, self.resolve),
            "set_alias": (AliasParams, lambda p, c: self.registry.set_alias(p.name, p.alias, p.version, c)),
            "deprecate": (ReasonParams, lambda p, c: self.registry.deprecate(p.name, p.version, p.reason, c)),
            "delete": (ReasonParams, lambda p, c: self.registry.delete(p.name, p.version, p.reason, c)),
            "verify": (VersionParams, self.verify),
            "purge": (PurgeParams, self.purge),
        }

    async def start(self, nc: Client) -> None:
        self._server = rpc.RpcServer(nc, SUBJECT_PREFIX, self.methods, self._answer, queue="registry")
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()

    async def _answer(self, method: str, data: bytes) -> dict[str, Any]:
        return await asyncio.to_thread(self.handle, method, data)  # aggregates and the view are blocking

    def handle(self, method: str, data: bytes) -> dict[str, Any]:
        if method not in self.methods:
            known = ", ".join(sorted(self.methods))
            return rpc.failed("UnknownMethodError", f"no registry method {method!r}; methods: {known}")
        params_type, run = self.methods[method]
        try:
            body = json.loads(data or b"{}")
            params = params_type.model_validate(body.get("params", {}))
            actor = Actor.model_validate(body.get("actor") or {"kind": "system", "id": "anonymous"})
            return rpc.ok(run(params, Causation(actor)))
        except (ValueError, ValidationError) as exc:
            return rpc.failed("InvalidRequestError", f"{method}: {exc}")
        except (RegistryError, ArtifactError) as exc:
            return rpc.failed(type(exc).__name__, str(exc))
        except Exception as exc:
            self.log.exception("registry rpc failed", method=method)
            return rpc.failed("InternalError", f"{method} failed: {exc!r}")

    def show(self, params: RefParams, cause: Causation) -> dict[str, Any]:
        number = self.registry.store.get(params.name).resolve(params.ref).number
        row = self.view.version(params.name, number)
        if row is None:
            raise UnknownVersionError(f"{params.name} v{number} is not in the catalogue yet; retry in a moment")
        return row

    def resolve(self, params: RefParams, cause: Causation) -> dict[str, Any]:
        return self.registry.servable(params.name, params.ref)

    def verify(self, params: VersionParams, cause: Causation) -> dict[str, Any]:
        return self.registry.verify(params.name, params.version, cause, force=True).model_dump(mode="json")

    def purge(self, params: PurgeParams, cause: Causation) -> dict[str, Any]:
        days = self.retention_days if params.older_than_days is None else params.older_than_days
        cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        purged = self.registry.purge(self.view.deleted_before(cutoff), f"deleted for >= {days:g} days", cause)
        return {"versions_purged": purged}
