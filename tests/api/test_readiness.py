"""The API says it is ready only once its overview has caught up with the log: right after /healthz
turns 200, the job list already counts every job the log held, and before that /healthz says what it
waits for. The overview is kept between starts: a restarted API lists what it had and what it missed."""

from __future__ import annotations

import uuid
from pathlib import Path

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


async def publish_jobs(nc: Client, count: int, prefix: str) -> None:
    publisher = EventPublisher(nc)
    config = TrainingConfig(base_model="tiny", dataset_id="demo")
    for index in range(count):
        event = JobRequested(name=f"{prefix}-{index}", config=config)
        await publisher.publish(Envelope.new(event, producer="trainer", aggregate_id=str(uuid.uuid4()), actor=ACTOR))


async def jobs_and_health(url: str) -> tuple[dict[str, object], dict[str, str]]:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        return (await http.get("/api/v1/jobs", params={"limit": 1000})).json(), (await http.get("/healthz")).json()


async def test_healthz_is_ready_only_once_every_logged_job_is_listed(
    nc: Client, nats_server: NatsServer, tmp_path: Path
):
    await publish_jobs(nc, JOBS, "job")

    async with serving(nats_server.url, tmp_path) as url:  # returns once GET /healthz answers 200
        page, health = await jobs_and_health(url)
    assert page["total"] == JOBS, "ready means caught up: no logged job is missing from the list"
    assert len(page["jobs"]) == 1000 and page["next_offset"] == 1000  # type: ignore[arg-type]
    assert health == {"nats": "connected", "overview": "caught_up"}

    await publish_jobs(nc, 5, "missed")  # while the API is down
    async with serving(nats_server.url, tmp_path) as url:
        page, _ = await jobs_and_health(url)
    assert page["total"] == JOBS + 5
    assert {job["name"] for job in page["jobs"][:5]} == {f"missed-{index}" for index in range(5)}  # type: ignore[index]
