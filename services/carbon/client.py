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
from pydantic import BaseModel, ConfigDict, Field

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
from services.runtime.errors import BusUnavailableError

_ERRORS: dict[str, type[CarbonError]] = {
    c.__name__: c
    for c in (CarbonError, MeterUnavailableError, UnknownGridError, BudgetExceededError, UnknownSubjectError)
}


class IntensityUsed(BaseModel):
    g_per_kwh: float
    source: str
    is_fallback: bool
    country_iso_code: str | None = None
    region: str | None = None
    pue: float


class HowMeasured(BaseModel):
    """Each component's metering method and the grid intensities behind a footprint."""

    cpu: list[str]
    gpu: list[str]
    ram: list[str]
    intensity: list[IntensityUsed]


class UnmeasuredGap(BaseModel):
    """Time an attempt killed before its final measurement left unmeasured (in no total)."""

    attempt: int | None = None
    last_attempt: int | None = None
    after_sequence: int | None = None
    seconds: float | None = None
    note: str


class JobFootprint(BaseModel):
    """A job's energy and CO2 (the sums of its measured intervals) with how each figure was measured,
    beside the job's row in the carbon read model (name, status, tokens, forecast...)."""

    model_config = ConfigDict(extra="allow")

    job_id: str
    name: str | None = None
    status: str | None = None
    intervals: int = Field(description="Measured intervals summed.")
    energy_kwh: float
    emissions_g: float = Field(description="gCO2eq.")
    duration_s: float
    cpu_kwh: float
    gpu_kwh: float
    ram_kwh: float
    last_sequence: int | None = None
    final_seen: bool = Field(description="The job's last measurement arrived: the totals are final.")
    intensity_fallback: bool = Field(description="Some interval used a fallback grid intensity.")
    how_measured: HowMeasured
    missing_sequences: list[int] = Field(description="Interval numbers not (yet) received.")
    unmeasured: list[UnmeasuredGap] = Field(default_factory=list)
    unmeasured_seconds: float = 0.0
    g_per_1k_trained_tokens: float | None = None
    kwh_per_1k_trained_tokens: float | None = None
    forecast_kwh: float | None = None
    forecast_g: float | None = None


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

    async def job(self, job_id: str) -> JobFootprint:
        """kWh, gCO2eq, per-component figures and how each was measured."""
        return JobFootprint.model_validate(await self.ask("job", {"job_id": job_id}))


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
