"""Asking the carbon service from another service, over rpc.carbon.* (no import of its read model).

    carbon = CarbonClient(nc)
    report = await carbon.job(job_id)                    # kWh and gCO2eq of a job, how each was measured
    gate = BudgetGate(carbon, error=MyBudgetError, unavailable=MyUnavailableError)  # a BudgetCheck port

Without a carbon service answering, calls raise BusUnavailableError: budgets fail closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nats.aio.client import Client

from contracts import Actor
from contracts.training_config import TrainingConfig
from services.carbon.adapters.rpc import RPC
from services.carbon.budgets import BudgetDecision
from services.carbon.domain import (
    BudgetExceededError,
    CarbonError,
    MeterUnavailableError,
    UnknownGridError,
    UnknownSubjectError,
)
from services.carbon.replies import BudgetVerdict, HowMeasured, IntensityUsed, JobFootprint, UnmeasuredGap
from services.runtime import rpc
from services.runtime.errors import BusUnavailableError

__all__ = ["BudgetGate", "CarbonClient", "HowMeasured", "IntensityUsed", "JobFootprint", "UnmeasuredGap"]

_ERRORS: dict[str, type[CarbonError]] = {
    c.__name__: c
    for c in (CarbonError, MeterUnavailableError, UnknownGridError, BudgetExceededError, UnknownSubjectError)
}


class CarbonClient:
    def __init__(self, nc: Client, timeout: float = 10.0) -> None:
        self.nc, self.timeout = nc, timeout

    async def ask(self, name: str, request: dict[str, Any]) -> Any:
        """The result of `rpc.carbon.<name>` as its route's reply type (services/carbon/replies.py);
        a refusal as the service's own error class, when known."""
        reply = RPC.route(name).reply
        try:
            return await rpc.call(self.nc, RPC.subject(name), request, reply, self.timeout, "carbon service")
        except rpc.RpcFailed as exc:
            error = _ERRORS.get(exc.error_code(), CarbonError)
            raise error(f"{exc.error_code()}: {exc}") from None

    async def check_budget(self, api_key: str) -> BudgetDecision:
        verdict: BudgetVerdict = await self.ask("budget.check", {"api_key": api_key})
        return BudgetDecision(**verdict.model_dump(exclude={"fraction_used"}))

    async def job(self, job_id: str) -> JobFootprint:
        """kWh, gCO2eq, per-component figures and how each was measured, and the job's forecast."""
        footprint: JobFootprint = await self.ask("job", {"job_id": job_id})
        return footprint


class BudgetGate:
    """The trainer's job-intake check (its BudgetCheck port): refuses API keys whose budget is spent
    with `error`, and, when no carbon service answers, with `unavailable` (budgets fail closed: a job is
    never run unaccounted). Both are the caller's own error classes."""

    def __init__(
        self,
        client: CarbonClient,
        error: Callable[[str], Exception] = BudgetExceededError,
        unavailable: Callable[[str], Exception] = BusUnavailableError,
    ) -> None:
        self.client, self.error, self.unavailable = client, error, unavailable

    async def check(self, actor: Actor, config: TrainingConfig) -> None:
        if actor.kind != "api_key":
            return  # budgets are per API key; the CLI and the system are not metered against one
        try:
            decision = await self.client.check_budget(actor.id)
        except BusUnavailableError as exc:
            raise self.unavailable(
                f"the budget of API key {actor.id} cannot be checked: {exc}; start the carbon service "
                "(`greentune carbon serve`, or all with `greentune up`), or set GREENTUNE_TRAINER_BUDGET_CHECK=off"
            ) from exc
        if not decision.allowed:
            raise self.error(decision.message)
