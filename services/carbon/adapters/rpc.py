"""Carbon queries over NATS request/reply: one `rpc.carbon.<name>` subject each, served by a queue
group so several carbon processes share the load (services/runtime/rpc.py)."""

from __future__ import annotations

from services.carbon import queries as q
from services.carbon import replies as r
from services.carbon.handlers import CarbonHandlers as H
from services.carbon.queries import RPC_PREFIX
from services.runtime.rpc import Route, RpcService

RPC = RpcService(
    RPC_PREFIX,
    "carbon",
    (
        Route("job", q.JobQuery, r.JobFootprint, H.job),
        Route("jobs", q.NoArguments, list[r.JobReport], H.jobs),
        Route("days", q.NoArguments, list[r.DayUsage], H.days),
        Route("api_keys", q.NoArguments, list[r.ApiKeyUsage], H.api_keys),
        Route("models", q.NoArguments, list[r.ModelUsage], H.models),
        Route("engine", q.EngineQuery, r.EngineReport, H.engine),
        Route("forecast", q.JobQuery, r.JobForecastReport, H.forecast),
        Route("estimate", q.EstimateQuery, r.PreflightEstimate, H.estimate),
        Route("recommendations", q.JobQuery, list[r.Recommendation], H.recommendations),
        Route("model_card", q.JobQuery, r.ModelCardCo2, H.model_card),
        Route("csv", q.CsvQuery, str, H.csv),
        Route("budgets", q.NoArguments, list[r.BudgetUsage], H.budgets),
        Route("budget.check", q.BudgetQuery, r.BudgetVerdict, H.check_budget),
        Route("budget.set", q.SetBudget, r.BudgetAccepted, H.set_budget),
    ),
    title="Carbon queries",
)
