"""`/api/v1` over the real trainer: upload a dataset, start a job, follow its live event feed until
the model is exported, resume the feed with Last-Event-ID; bad input refused with the trainer's
problems (file, line, field) and an HTTP status a client can act on."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.trainer.commands import CreateJob, RegisterBaseModel
from tests.api.conftest import API_KEY, UPLOAD_LIMIT, TrainerGateway, problem
from tests.trainer.conftest import ACTOR, DEMO, DEMO_CONFIG

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def http(gateway: TrainerGateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{gateway.url}/api/v1", headers=AUTH, timeout=300)


async def upload(client: httpx.AsyncClient, name: str, content: bytes, **form: Any) -> httpx.Response:
    return await client.post("/datasets", files={"file": (name, content)}, data={"max_seq_length": 64, **form})


async def sse_events(response: httpx.Response, until: str | None = None) -> list[dict[str, Any]]:
    """Server-sent events as {event, id, data}, until an event of type `until` (or the end)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if not line:
            if current:
                events.append(current)
                if current.get("event") == until:
                    return events
            current = {}
            continue
        field, _, value = line.partition(": ")
        current[field] = json.loads(value) if field == "data" else value
    return events


async def listed_job(client: httpx.AsyncClient, job_id: str, done: Any, timeout: float = 30) -> dict[str, Any]:
    """The job's row in GET /jobs once `done(row)` holds (the list follows the event stream)."""
    async with asyncio.timeout(timeout):
        while True:
            rows = {row["job_id"]: row for row in (await client.get("/jobs")).json()["jobs"]}
            if job_id in rows and done(rows[job_id]):
                return rows[job_id]
            await asyncio.sleep(0.2)


async def test_an_uploaded_dataset_is_validated_and_a_broken_one_is_refused_naming_its_line(
    trainer_gateway: TrainerGateway, tiny_model_dir
):
    await trainer_gateway.trainer.result(RegisterBaseModel(actor=ACTOR, model_name="tiny", source=str(tiny_model_dir)))
    async with http(trainer_gateway) as client:
        stored = await upload(client, "facts.jsonl", DEMO.read_bytes(), base_model="tiny")
        again = await upload(client, "facts.jsonl", DEMO.read_bytes(), base_model="tiny")
        broken = (
            b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n{not json\n'
        )
        refused = await upload(client, "broken.jsonl", broken)
        unknown = await upload(client, "notes.docx", b"hello")
    assert stored.status_code == 201, stored.text
    assert again.json()["dataset_id"] == stored.json()["dataset_id"]
    error = problem(refused, 400)
    assert error["code"] == "DatasetFormatError" and "broken.jsonl" in error["detail"]
    assert any(p["line"] == 2 and p["file"] == "broken.jsonl" for p in error["problems"]), error
    assert ".docx" in problem(unknown, 400)["detail"]
    assert trainer_gateway.trainer.ctx.store.list_keys("uploads/") == [], "refused uploads leave nothing behind"


async def test_a_job_started_over_http_streams_its_events_live_until_the_model_is_exported(
    trainer_gateway: TrainerGateway, carbon, tiny_model_dir
):
    dataset_id = await trainer_gateway.trainer.register_demo(tiny_model_dir)
    async with http(trainer_gateway) as client:
        created = await client.post("/jobs", json={**DEMO_CONFIG, "dataset_id": dataset_id})
        assert created.status_code == 201, created.text
        job_id = created.json()["job_id"]
        trainer_gateway.trainer.spawn_worker(measure_energy=True)
        async with client.stream("GET", f"/jobs/{job_id}/events") as live:
            assert live.headers["content-type"].startswith("text/event-stream")
            events = await asyncio.wait_for(sse_events(live, until="ModelExported"), timeout=480)
        kinds = [e["event"] for e in events]
        order = ["JobRequested", "JobQueued", "JobStarted", "TrainingProgressed", "JobCompleted", "ModelExported"]
        assert "EmissionsMeasured" in kinds, "energy is in the same live feed as the loss"
        assert [kinds.index(k) for k in order] == sorted(kinds.index(k) for k in order), kinds
        assert all(e["data"]["aggregate_id"] == job_id and e["data"]["event"]["type"] == e["event"] for e in events)
        losses = [e["data"]["event"]["loss"] for e in events if e["event"] == "TrainingProgressed"]
        assert losses[-1] < losses[0] / 2, losses
        ids = [int(e["id"]) for e in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)

        started = next(e for e in events if e["event"] == "JobStarted")
        resumed = await client.get(
            f"/jobs/{job_id}/events", params={"follow": False}, headers={"Last-Event-ID": started["id"]}
        )
        replayed = await sse_events(resumed)
        # the replay resumes right after JobStarted; events logged after the live feed's last one (the
        # meter's final interval may follow ModelExported) come after it
        after_started = [e["id"] for e in events if int(e["id"]) > int(started["id"])]
        assert [e["id"] for e in replayed][: len(after_started)] == after_started

        status = await client.get(f"/jobs/{job_id}")
        await carbon.catch_up()
        footprint = await client.get(f"/jobs/{job_id}/carbon")
        listed = await listed_job(client, job_id, lambda row: row["status"] == "COMPLETED" and row["energy_kwh"])
        datasets = (await client.get("/datasets")).json()["datasets"]
        base_models = (await client.get("/base-models")).json()["base_models"]
        scraped = await client.get(f"{trainer_gateway.url}/metrics")
    assert status.status_code == 200 and status.json()["status"] == "COMPLETED"
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(scraped.text)
               for s in f.samples}  # fmt: skip
    assert samples[("greentune_jobs", (("status", "COMPLETED"),))] == 1, "the job's outcome in /metrics"
    assert samples[("greentune_job_energy_kwh", (("job_id", job_id),))] == pytest.approx(listed["energy_kwh"])
    completed = next(e["data"]["event"] for e in events if e["event"] == "JobCompleted")
    assert listed["step"] == completed["steps"] and listed["last_loss"] == losses[-1], listed
    assert listed["emissions_g"] > 0 and listed["base_model"] == "tiny" and listed["dataset_id"] == dataset_id
    assert [(d["dataset_id"], d["valid"]) for d in datasets] == [(dataset_id, True)]
    assert [m["name"] for m in base_models] == ["tiny"]
    assert footprint.status_code == 200, footprint.text
    report = footprint.json()
    assert report["energy_kwh"] > 0 and report["emissions_g"] > 0, report


async def test_bad_jobs_and_unknown_ids_get_the_status_and_the_fields_to_fix(
    trainer_gateway: TrainerGateway, carbon, tiny_model_dir
):
    dataset_id = await trainer_gateway.trainer.register_demo(tiny_model_dir)
    bad = {**DEMO_CONFIG, "dataset_id": dataset_id, "learning_rate": 0, "lora": {"rank": 0}}
    async with http(trainer_gateway) as client:
        refused = await client.post("/jobs", json=bad)
        missing = await client.get("/jobs/no-such-job")
        wildcard = await client.get("/jobs/*/events", params={"follow": False})
        queued = await client.post("/jobs", json={**DEMO_CONFIG, "dataset_id": dataset_id})
        cancelled = await client.post(f"/jobs/{queued.json()['job_id']}/cancel", params={"reason": "changed my mind"})
        unknown_footprint = await client.get("/jobs/no-such-job/carbon")
    async with httpx.AsyncClient() as no_key:
        anonymous = await no_key.get(f"{trainer_gateway.url}/api/v1/jobs/no-such-job")
    fields = {p["field"] for p in problem(refused, 400)["problems"]}
    assert {"learning_rate", "lora.rank"} <= fields, refused.json()
    assert "no-such-job" in problem(missing, 404)["detail"]
    assert wildcard.status_code == 400, "a job id is one subject token: no wildcards into other jobs' events"
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "CANCELLED"
    assert unknown_footprint.status_code == 404, unknown_footprint.text
    assert problem(anonymous, 401)["code"] == "invalid_api_key"


async def test_an_upload_larger_than_a_nats_message_is_stored_and_validated_and_an_oversized_one_refused(
    trainer_gateway: TrainerGateway,
):
    rows = [
        json.dumps({"messages": [{"role": "user", "content": f"What is fact {i}?"},
                                 {"role": "assistant", "content": f"Fact {i} is {'x' * 200}."}]})
        for i in range(12_000)
    ]  # fmt: skip
    big = ("\n".join(rows) + "\n").encode()
    assert 2_000_000 < len(big) < UPLOAD_LIMIT  # over a NATS message (1 MB), under the gateway's limit
    async with http(trainer_gateway) as client:
        stored = await upload(client, "big.jsonl", big)
        oversized = await upload(client, "huge.jsonl", b"x" * (UPLOAD_LIMIT + 1))
    assert stored.status_code == 201, stored.text
    assert stored.json()["rows"] == 12_000 and stored.json()["valid"] is True
    assert "GREENTUNE_API_MAX_UPLOAD_BYTES" in problem(oversized, 413)["detail"]
    store = trainer_gateway.trainer.ctx.store
    assert store.list_keys("uploads/") == [], "an upload is removed once the trainer has answered"


async def test_without_the_carbon_service_an_api_keys_job_is_refused_not_run_unmetered(
    trainer_gateway: TrainerGateway, tiny_model_dir
):
    dataset_id = await trainer_gateway.trainer.register_demo(tiny_model_dir)
    config = {**DEMO_CONFIG, "dataset_id": dataset_id}
    operators = await trainer_gateway.trainer.result(CreateJob(actor=ACTOR, config=config))  # budgets: API keys only
    async with http(trainer_gateway) as client:
        refused = await client.post("/jobs", json=config)
        footprint = await client.get(f"/jobs/{operators['job_id']}/carbon")
    assert refused.status_code == 503, refused.text  # not the key's fault: its budget cannot be checked
    assert "budget of API key tester cannot be checked" in refused.text and "carbon serve" in refused.text
    assert "not running" in problem(footprint, 503)["detail"]
