"""Budgets per API key, pure: usage against the limit, the events a crossing produces (a warning
at the warning fraction, exhaustion at 100%, each once per BudgetSet), and the job-intake check.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import DomainEvent
from contracts.events.carbon import BudgetExhausted, BudgetMetric, BudgetWarningIssued

UNITS = {"energy_kwh": "kWh", "emissions_g": "gCO2eq"}
CLI_FLAGS = {"energy_kwh": "--kwh", "emissions_g": "--gco2"}  # of `greentune carbon budget set`


@dataclass(frozen=True)
class Budget:
    api_key: str
    metric: BudgetMetric
    limit: float
    warning_fraction: float
    warned: bool  # BudgetWarningIssued published since the last BudgetSet
    exhausted: bool  # BudgetExhausted published since the last BudgetSet


@dataclass(frozen=True)
class Usage:
    energy_kwh: float
    emissions_g: float

    def of(self, metric: BudgetMetric) -> float:
        return self.energy_kwh if metric == "energy_kwh" else self.emissions_g


@dataclass(frozen=True)
class BudgetDecision:
    allowed: bool
    message: str
    api_key: str
    metric: BudgetMetric | None = None
    used: float | None = None
    limit: float | None = None

    @property
    def fraction_used(self) -> float | None:
        return None if self.used is None or not self.limit else self.used / self.limit


def crossings(budget: Budget, usage: Usage) -> list[DomainEvent]:
    """Events to publish now that usage is `usage` (empty when nothing new was crossed)."""
    used = usage.of(budget.metric)
    events: list[DomainEvent] = []
    if not budget.warned and used >= budget.warning_fraction * budget.limit:
        events.append(BudgetWarningIssued(metric=budget.metric, used=used, limit=budget.limit))
    if not budget.exhausted and used >= budget.limit:
        events.append(BudgetExhausted(metric=budget.metric, used=used, limit=budget.limit))
    return events


def check_budget(api_key: str, budget: Budget | None, usage: Usage) -> BudgetDecision:
    """May this API key start a new fine-tuning job?"""
    if budget is None:
        return BudgetDecision(True, f"API key {api_key} has no carbon budget", api_key)
    used, unit = usage.of(budget.metric), UNITS[budget.metric]
    share = f"{used:.6g} of its {budget.limit:.6g} {unit} budget ({used / budget.limit:.0%})"
    if used >= budget.limit:
        message = (
            f"API key {api_key} has used {share}; new jobs are refused until the budget is raised, "
            f"e.g. `greentune carbon budget set {api_key} {CLI_FLAGS[budget.metric]} <new limit>`"
        )
        return BudgetDecision(False, message, api_key, budget.metric, used, budget.limit)
    return BudgetDecision(True, f"API key {api_key} has used {share}", api_key, budget.metric, used, budget.limit)
