"""Requests the carbon service answers over NATS request/reply, one `rpc.carbon.<name>` subject each
(services/carbon/adapters/rpc.py), in the rpc shape of services/runtime/rpc.py."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts import Actor
from contracts.events.carbon import BudgetMetric
from contracts.training_config import TrainingConfig

RPC_PREFIX = "rpc.carbon"


class Query(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoArguments(Query):
    """Reports over everything: jobs, days, api_keys, models, budgets."""


class JobQuery(Query):
    job_id: str = Field(min_length=1, description="The job's id.")


class EngineQuery(Query):
    engine_id: str = Field(min_length=1, description="The inference engine's id.")


class EstimateQuery(Query):
    config: TrainingConfig = Field(description="The job configuration to estimate.")
    rows: int | None = Field(None, ge=1, description="Dataset rows; default: from its DatasetValidated event.")
    mean_tokens_per_row: float | None = Field(None, gt=0, description="Default: from its DatasetValidated event.")


class BudgetQuery(Query):
    api_key: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$", description="The API key id.")


class SetBudget(BudgetQuery):
    metric: BudgetMetric = Field(description="`energy_kwh` or `emissions_g`.")
    limit: float = Field(gt=0, description="The budget in the metric's unit.")
    warning_fraction: float = Field(0.8, gt=0, lt=1, description="Warn at this fraction of the limit.")
    actor: Actor = Field(default_factory=lambda: Actor(kind="cli", id="greentune"), description="Who sets it.")


class CsvQuery(Query):
    subject_type: Literal["job", "engine"] = Field("job", description="A job or an inference engine.")
    subject_id: str = Field(min_length=1, description="Its id.")
