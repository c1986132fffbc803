"""Asking the registry from the API, the CLI or another service, over rpc.registry.* (no import of
its aggregates or read model): the one way anything outside the registry learns what it holds.

    registry = RegistryClient(nc, actor)
    version = await registry.ask("resolve", name="smollm2-ft", ref="3")  # a ServableVersion: what may be served

Each answer is its route's reply type (services/registry/replies.py; `verify`: the
ModelVerificationCompleted event).

A refusal comes back as the registry's own exception class (VersionDeletedError...), with its
message; no registry answering is BusUnavailableError.
"""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client

from contracts import Actor
from services.registry import domain
from services.registry.adapters.rpc import RPC
from services.registry.replies import ModelVersionRow
from services.runtime import rpc
from services.runtime.problems import ProblemDetails

_ERRORS: dict[str, type[domain.RegistryError]] = {
    c.__name__: c for c in vars(domain).values() if isinstance(c, type) and issubclass(c, domain.RegistryError)
}


class RegistryRefusedError(domain.RegistryError):
    """The registry refused the request for a reason without a class of its own here (bad parameters...)."""

    def __init__(self, refusal: rpc.RpcFailed) -> None:
        super().__init__(f"{refusal.error_code()}: {refusal}")
        self.kind, self.refusal = refusal.error_code(), refusal

    def problem(self) -> ProblemDetails:
        return self.refusal.problem()  # its status and code as the registry answered them (403, 422...)


class RegistryClient:
    def __init__(self, nc: Client, actor: Actor, timeout: float = 30.0) -> None:
        self.nc, self.actor, self.timeout = nc, actor, timeout

    async def ask(self, method: str, timeout: float | None = None, **params: Any) -> Any:
        request = {**params, "actor": self.actor.model_dump(mode="json")}
        reply = RPC.route(method).reply
        try:
            return await rpc.call(self.nc, RPC.subject(method), request, reply, timeout or self.timeout, "registry")
        except rpc.RpcFailed as exc:
            error = _ERRORS.get(exc.error_code())
            raise error(str(exc)) if error is not None else RegistryRefusedError(exc) from None

    async def version_rows(self) -> list[ModelVersionRow]:
        """Every version of every model, newest first, deleted and failed ones included."""
        return list(await self.ask("version_rows"))
