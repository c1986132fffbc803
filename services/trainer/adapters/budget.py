"""Job intake's budget check against the carbon service (rpc.carbon.budget.check, issue 6).

Only jobs requested with an API key have budgets. If the carbon service does not answer, the job is
refused rather than run unaccounted; GREENTUNE_TRAINER_BUDGET_CHECK=off turns the check off.
"""

from __future__ import annotations

import json

from nats.aio.client import Client

from contracts import Actor
from contracts.training_config import TrainingConfig
from services.trainer.errors import BudgetExceededError

SUBJECT = "rpc.carbon.budget.check"


class AllowAllBudgets:
    """No budget check (GREENTUNE_TRAINER_BUDGET_CHECK=off)."""

    async def check(self, actor: Actor, config: TrainingConfig) -> None:
        return None


class CarbonBudgetCheck:
    def __init__(self, nc: Client, timeout: float = 5.0) -> None:
        self.nc, self.timeout = nc, timeout

    async def check(self, actor: Actor, config: TrainingConfig) -> None:
        if actor.kind != "api_key":
            return  # budgets belong to API keys; the CLI and system components have none
        try:
            msg = await self.nc.request(SUBJECT, json.dumps({"api_key": actor.id}).encode(), timeout=self.timeout)
        except Exception as exc:  # nats-py: NoRespondersError, TimeoutError
            raise BudgetExceededError(
                f"the carbon service did not answer {SUBJECT} ({exc!r}), so the budget of API key {actor.id} "
                "cannot be checked: start it, or set GREENTUNE_TRAINER_BUDGET_CHECK=off"
            ) from exc
        reply = json.loads(msg.data)
        if not reply.get("ok"):
            raise BudgetExceededError(f"budget check failed: {reply.get('error', {}).get('message', reply)}")
        decision = reply["result"]
        if not decision.get("allowed", False):
            raise BudgetExceededError(str(decision.get("message") or f"API key {actor.id} has spent its budget"))
