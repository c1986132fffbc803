"""The API says it is ready only once its overview has replayed the log: right after /healthz turns
200, the job list already holds every job the log held, and before that /healthz says what it waits for."""

from __future__ import annotations

import uuid

import httpx
from nats.aio.client import Client

from contracts import Envelope
from contracts.events.jobs import JobRequested
from contracts.training_config import TrainingConfig
from services.runtime.nats_server import NatsServer
from services.runtime.publisher import EventPublisher
from tests.api.conftest import API_KEY, serving
from tests.trainer.conftest import ACTOR

JOBS = 3000


async def jobs_and_health(url: str) -> tuple[list[dict[str, object]], dict[str, str]]:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        return (await http.get("/api/v1/jobs")).json()["jobs"], (await http.get("/healthz")).json()


async def test_healthz_is_ready_only_once_every_logged_job_is_listed(nc: Client, nats_server: NatsServer):
    publisher = EventPublisher(nc)
    config = TrainingConfig(base_model="tiny", dataset_id="demo")
    for index in range(JOBS):
        event = JobRequested(name=f"job-{index}", config=config)
        await publisher.publish(Envelope.new(event, producer="trainer", aggregate_id=str(uuid.uuid4()), actor=ACTOR))

    async with serving(nats_server.url) as url:  # returns once GET /healthz answers 200
        jobs, health = await jobs_and_health(url)
    assert len(jobs) == JOBS, "ready means caught up: no logged job is missing from the list"
    assert health == {"nats": "connected", "overview": "caught_up"}
