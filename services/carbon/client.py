"""Asking the carbon service from another service, over rpc.carbon.* (no import of its read model).

    carbon = CarbonClient(nc)
    card = await carbon.model_card(job_id)               # registry: co2_eq_emissions of a model card
    gate = BudgetGate(carbon, error=BudgetExceededError)  # trainer: its BudgetCheck port

Without a carbon service answering, calls raise BusUnavailableError: budgets fail closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nats.aio.client import Client

from contracts import Actor
from contracts.training_config import TrainingConfig
from services.carbon.adapters.rpc import call
from services.carbon.budgets import BudgetDecision
from services.carbon.domain import (
    BudgetExceededError,
    CarbonError,
    MeterUnavailableError,
    UnknownGridError,
    UnknownSubjectError,
)

_ERRORS: dict[str, type[CarbonError]] = {
    c.__name__: c
    for c in (CarbonError, MeterUnavailableError, UnknownGridError, BudgetExceededError, UnknownSubjectError)
}


class CarbonClient:
    def __init__(self, nc: Client, timeout: float = 10.0) -> None:
        self.nc, self.timeout = nc, timeout

    async def ask(self, name: str, request: dict[str, Any]) -> Any:
        reply = await call(self.nc, name, request, self.timeout)
        if not reply["ok"]:
            error = _ERRORS.get(reply["error"]["type"], CarbonError)  # the service's own class, when known
            raise error(f"{reply['error']['type']}: {reply['error']['message']}")
        return reply["result"]

    async def check_budget(self, api_key: str) -> BudgetDecision:
        result = await self.ask("budget.check", {"api_key": api_key})
        result.pop("fraction_used", None)
        return BudgetDecision(**result)

    async def model_card(self, job_id: str) -> dict[str, Any]:
        """The `co2_eq_emissions` block of the model card of the model `job_id` trained."""
        card: dict[str, Any] = await self.ask("model_card", {"job_id": job_id})
        return card

    async def job(self, job_id: str) -> dict[str, Any]:
        """kWh, gCO2eq, per-component figures and how each was measured."""
        report: dict[str, Any] = await self.ask("job", {"job_id": job_id})
        return report


class BudgetGate:
    """The trainer's job-intake check: refuses API keys whose budget is spent."""

    def __init__(self, client: CarbonClient, error: Callable[[str], Exception] = BudgetExceededError) -> None:
        self.client, self.error = client, error

    async def check(self, actor: Actor, config: TrainingConfig) -> None:
        if actor.kind != "api_key":
            return  # budgets are per API key; the CLI and the system are not metered against one
        decision = await self.client.check_budget(actor.id)
        if not decision.allowed:
            raise self.error(decision.message)
