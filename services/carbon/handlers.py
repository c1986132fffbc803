"""What the carbon service does: answer queries (one method per `rpc.carbon.<name>`, listed in
services/carbon/adapters/rpc.py), set budgets,
and, after each batch the read model applies, publish budget crossings and store finished jobs'
emissions.csv. Budget events are appended only if the budget's last event is the one the read
model saw (expected last subject sequence), so a warning is never published twice.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from contracts import Actor, DomainEvent, Envelope
from contracts.events.carbon import BudgetSet
from services.carbon import exports, queries, replies
from services.carbon.advice import job_recommendations
from services.carbon.budgets import Budget, BudgetDecision, Usage, check_budget, crossings
from services.carbon.domain import PRODUCER
from services.carbon.estimates import job_forecast, preflight
from services.carbon.ports import EventAppender
from services.carbon.reports import CarbonReports
from services.carbon.view import CarbonView
from services.runtime.artifacts import ArtifactStore, layout
from services.runtime.logging import get_logger
from services.runtime.publisher import StaleWriteError

SYSTEM = Actor(kind="system", id="carbon")


class CarbonHandlers:
    def __init__(self, view: CarbonView, events: EventAppender, store: ArtifactStore | None = None) -> None:
        self.view, self.events, self.store = view, events, store
        self.reports = CarbonReports(view)
        self.log = get_logger("carbon.handlers")

    def job(self, q: queries.JobQuery) -> replies.JobFootprint:
        """A job's energy and CO2 with how each was measured, and its forecast."""
        report = self.reports.job(q.job_id)
        return replies.JobFootprint(**report, forecast=job_forecast(self.reports, q.job_id))

    def jobs(self, _: queries.NoArguments) -> list[replies.JobReport]:
        """Every job's energy and CO2."""
        return [replies.JobReport.model_validate(row) for row in self.reports.jobs()]

    def days(self, _: queries.NoArguments) -> list[replies.DayUsage]:
        """Energy and CO2 per day."""
        return [replies.DayUsage.model_validate(row) for row in self.reports.per_day()]

    def api_keys(self, _: queries.NoArguments) -> list[replies.ApiKeyUsage]:
        """Energy and CO2 per API key (training and serving)."""
        return [replies.ApiKeyUsage.model_validate(row) for row in self.reports.per_api_key()]

    def models(self, _: queries.NoArguments) -> list[replies.ModelUsage]:
        """Energy and CO2 per served model and adapter."""
        return [replies.ModelUsage.model_validate(row) for row in self.reports.per_model()]

    def engine(self, q: queries.EngineQuery) -> replies.EngineReport:
        """An inference engine's energy and CO2 and its requests' shares."""
        return replies.EngineReport.model_validate(self.reports.engine(q.engine_id))

    def forecast(self, q: queries.JobQuery) -> replies.JobForecastReport:
        """What a running job will use by its end, from its progress so far."""
        return job_forecast(self.reports, q.job_id)

    def estimate(self, q: queries.EstimateQuery) -> replies.PreflightEstimate:
        """What a job configuration would use, before it runs."""
        return preflight(self.reports, q.config, q.rows, q.mean_tokens_per_row)

    def recommendations(self, q: queries.JobQuery) -> list[replies.Recommendation]:
        """How a job could have used less energy."""
        return job_recommendations(self.reports, q.job_id)

    def model_card(self, q: queries.JobQuery) -> replies.ModelCardCo2:
        """The CO2 section of a model card for the job's model."""
        return exports.model_card_co2(self.reports, q.job_id)

    def csv(self, q: queries.CsvQuery) -> str:
        """emissions.csv of a job or an engine."""
        return exports.emissions_csv(self.reports, q.subject_type, q.subject_id)

    def budgets(self, _: queries.NoArguments) -> list[replies.BudgetUsage]:
        """Every API key's budget with its usage."""
        return [replies.BudgetUsage(**b.__dict__, **self.usage(b.api_key).__dict__) for b in self.stored_budgets()]

    def check_budget(self, q: queries.BudgetQuery) -> replies.BudgetVerdict:
        """Whether an API key may start a job under its budget."""
        decision = self.check(q.api_key)
        return replies.BudgetVerdict(**decision.__dict__, fraction_used=decision.fraction_used)

    def check(self, api_key: str) -> BudgetDecision:
        budget = next((b for b in self.stored_budgets() if b.api_key == api_key), None)
        return check_budget(api_key, budget, self.usage(api_key))

    def usage(self, api_key: str) -> Usage:
        row = next((r for r in self.reports.per_api_key() if r["api_key"] == api_key), None)
        return Usage(row["total_kwh"], row["total_g"]) if row else Usage(0.0, 0.0)

    def stored_budgets(self) -> list[Budget]:
        rows = self.view.rows("SELECT * FROM budgets ORDER BY api_key")
        return [
            Budget(
                r["api_key"],
                r["metric"],
                r["limit_value"],
                r["warning_fraction"],
                bool(r["warned"]),
                bool(r["exhausted"]),
            )
            for r in rows
        ]

    async def set_budget(self, q: queries.SetBudget) -> replies.BudgetAccepted:
        """Set an API key's energy or CO2 budget (a BudgetSet event)."""
        event = BudgetSet(metric=q.metric, limit=q.limit, warning_fraction=q.warning_fraction)
        sequence = await self.events.publish(
            Envelope.new(event, producer=PRODUCER, aggregate_id=q.api_key, actor=q.actor)
        )
        return replies.BudgetAccepted(api_key=q.api_key, metric=q.metric, limit=q.limit, stream_sequence=sequence)

    async def after_batch(self) -> None:
        """Side effects of what the read model just applied: budget crossings, emissions.csv files."""
        await self._publish_crossings()
        if self.store is not None:
            await asyncio.to_thread(self._export_finished_jobs)

    async def _publish_crossings(self) -> None:
        for budget in await asyncio.to_thread(self.stored_budgets):
            events = crossings(budget, await asyncio.to_thread(self.usage, budget.api_key))
            if events:
                await self._append(budget.api_key, events)

    async def _append(self, api_key: str, events: list[DomainEvent]) -> None:
        last = self.view.rows("SELECT last_seq FROM budgets WHERE api_key=?", (api_key,))[0]["last_seq"]
        try:
            for event in events:
                envelope = Envelope.new(event, producer=PRODUCER, aggregate_id=api_key, actor=SYSTEM)
                last = await self.events.publish(envelope, expected_last_sequence=last)
                self.log.info("budget event published", api_key=api_key, event_type=event.type_name())
        except StaleWriteError:
            self.log.info("budget changed meanwhile; the read model will catch up", api_key=api_key)

    def _export_finished_jobs(self) -> None:
        assert self.store is not None
        for row in self.view.rows("SELECT job_id FROM csv_pending ORDER BY job_id"):
            job_id = row["job_id"]
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "emissions.csv"
                path.write_text(exports.emissions_csv(self.reports, "job", job_id))
                self.store.put_file(layout.job_log(job_id, "emissions.csv"), path)
            self.view.export_done(job_id)
