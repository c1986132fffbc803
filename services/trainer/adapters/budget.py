"""Job intake without a budget check (GREENTUNE_TRAINER_BUDGET_CHECK=off). The check itself is the
carbon service's client, services/carbon/client.py BudgetGate: only jobs requested with an API key
have budgets, and if the carbon service does not answer the job is refused rather than run unaccounted.
"""

from __future__ import annotations

from contracts import Actor
from contracts.training_config import TrainingConfig


class AllowAllBudgets:
    """No budget check (GREENTUNE_TRAINER_BUDGET_CHECK=off)."""

    async def check(self, actor: Actor, config: TrainingConfig) -> None:
        return None
