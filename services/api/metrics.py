"""Prometheus metrics of the API (prometheus-client; HTTP requests by the
prometheus-fastapi-instrumentator): requests and errors per route, `/v1` latency, time to first
token, output tokens and energy per model and API key, and, read from the overview at each scrape,
jobs per status and each job's energy and CO2. One registry per app, served at GET /metrics to
admin keys (a scrape config sends one as its bearer token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator

from contracts import Actor
from services.api.dependencies import Caller
from services.api.errors import PROBLEM_RESPONSES
from services.api.overview import OverviewView
from services.inference import protocol as wire
from services.runtime import access

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        by_model = ["model", "api_key"]
        self.latency = Histogram(
            "greentune_inference_latency_seconds", "A /v1 request's time in the engine, by model id and API key.",
            by_model, buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.ttft = Histogram(
            "greentune_inference_ttft_seconds", "Time to a /v1 request's first token.",
            by_model, buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.output_tokens = Counter(
            "greentune_output_tokens", "Tokens generated on /v1.", by_model, registry=self.registry
        )
        self.energy = Counter(
            "greentune_inference_energy_kwh", "kWh of /v1 requests (their shares of the engine's metered energy).",
            by_model, registry=self.registry,
        )  # fmt: skip
        self.jobs = Gauge("greentune_jobs", "Jobs by status, from the log.", ["status"], registry=self.registry)
        self.job_energy = Gauge(
            "greentune_job_energy_kwh", "kWh measured for each job so far.", ["job_id"], registry=self.registry
        )
        self.job_emissions = Gauge(
            "greentune_job_emissions_g", "gCO2eq measured for each job so far.", ["job_id"], registry=self.registry
        )

    def instrument(self, app: FastAPI) -> None:
        """Requests and their durations per route (its template) and status class."""
        Instrumentator(registry=self.registry, excluded_handlers=["/metrics"]).instrument(
            app, metric_namespace="greentune"
        )

    def served(self, model: str, actor: Actor, completions: list[wire.Completion]) -> None:
        labels = {"model": model, "api_key": actor.id}
        for completion in completions:
            self.latency.labels(**labels).observe(completion.latency_ms / 1000.0)
            if completion.time_to_first_token_ms is not None:
                self.ttft.labels(**labels).observe(completion.time_to_first_token_ms / 1000.0)
            self.output_tokens.labels(**labels).inc(completion.completion_tokens)
            if completion.energy_kwh is not None:
                self.energy.labels(**labels).inc(completion.energy_kwh)

    def scrape(self, overview: OverviewView) -> bytes:
        """The text exposition, with the overview's job figures as they are now."""
        self.jobs.clear()
        for status, count in overview.status_counts().items():
            self.jobs.labels(status=status).set(count)
        for job_id, kwh, grams in overview.job_energies():
            self.job_energy.labels(job_id=job_id).set(kwh)
            self.job_emissions.labels(job_id=job_id).set(grams)
        return generate_latest(self.registry)


router = APIRouter()


EXPOSITION: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format."},
    **PROBLEM_RESPONSES,
}


@router.get("/metrics", response_model=None, responses=EXPOSITION)
async def metrics(request: Request, actor: Caller) -> Response:
    """Prometheus text exposition of the API's metrics (admin keys)."""
    access.require(actor, "admin", "reading the metrics")
    state = request.app.state
    return Response(state.metrics.scrape(state.followed.view), media_type=CONTENT_TYPE_LATEST)
