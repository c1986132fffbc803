"""A user in the dashboard: uploads a dataset (a broken one first, refused naming its line), starts
a fine-tune of the tiny model, watches its loss and energy arrive live until the model is exported,
and finds the finished job in the jobs list. Real trainer worker, carbon service and API gateway."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect

from services.trainer.commands import RegisterBaseModel
from tests.api.conftest import API_KEY, TrainerGateway
from tests.api.test_jobs_api import AUTH, sse_events
from tests.browser.conftest import SCREENSHOTS, browser_page
from tests.trainer.conftest import ACTOR, DEMO, DEMO_CONFIG

pytestmark = pytest.mark.slow
BROKEN = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n{not json\n'
JOB_URL = re.compile(r"/jobs/([0-9a-f-]{36})$")


async def test_a_dataset_uploaded_in_the_dashboard_trains_a_model_watched_live_to_its_export(
    trainer_gateway: TrainerGateway, carbon, tiny_model_dir, chromium_path: str
):
    await trainer_gateway.trainer.result(RegisterBaseModel(actor=ACTOR, model_name="tiny", source=str(tiny_model_dir)))
    trainer_gateway.trainer.spawn_worker(measure_energy=True)
    async with browser_page(chromium_path, "dashboard-job") as page:
        await page.goto(f"{trainer_gateway.url}/")
        await page.get_by_test_id("api-key").fill(API_KEY)
        await page.get_by_test_id("api-key").press("Enter")
        await expect(page.get_by_test_id("jobs-empty")).to_be_visible()

        await page.goto(f"{trainer_gateway.url}/jobs/new")
        upload = page.get_by_test_id("dataset-file")
        await upload.set_input_files(files=[{"name": "broken.jsonl", "mimeType": "text/plain", "buffer": BROKEN}])
        await expect(page.get_by_test_id("dataset-valid")).to_have_attribute("data-valid", "false")
        await expect(page.get_by_test_id("dataset-preview")).to_contain_text("broken.jsonl")
        await expect(page.get_by_test_id("dataset-errors")).to_contain_text(re.compile(r"\b2\b"))  # line 2

        await upload.set_input_files(str(DEMO))
        await expect(page.get_by_test_id("dataset-valid")).to_have_attribute("data-valid", "true")
        await expect(page.get_by_test_id("dataset-rows")).to_have_text("200")
        await page.get_by_test_id("base-model").select_option("tiny")
        await page.get_by_test_id("start-job").click()
        await page.wait_for_url(JOB_URL, timeout=60_000)
        match = JOB_URL.search(page.url)
        assert match is not None
        job_id = match.group(1)

        await expect(page.get_by_test_id("job-outcome")).to_have_attribute("data-outcome", "COMPLETED", timeout=480_000)
        exported = page.locator('[data-testid="event-entry"][data-type="ModelExported"]')
        await expect(exported).to_have_count(1)
        await expect(page.get_by_test_id("energy-kwh")).not_to_have_attribute("data-value", re.compile(r"^0?$"))
        await expect(page.get_by_test_id("intensity-fallback")).to_be_visible()  # no region configured in tests
        async with httpx.AsyncClient(headers=AUTH) as client:
            log = await client.get(f"{trainer_gateway.url}/api/v1/jobs/{job_id}/events", params={"follow": False})
        losses = [e["data"]["event"]["loss"] for e in await sse_events(log) if e["event"] == "TrainingProgressed"]
        assert losses[-1] < losses[0] / 2, losses
        await expect(page.get_by_test_id("loss-chart")).to_have_attribute("data-points", str(len(losses)))
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-job-page.png"), full_page=True)

        await page.goto(f"{trainer_gateway.url}/")
        row = page.locator(f'[data-testid="job-row"][data-job-id="{job_id}"]')
        await expect(row.get_by_test_id("job-status")).to_have_text(re.compile("completed", re.IGNORECASE))


async def test_a_queued_job_cancelled_from_its_page_ends_cancelled(
    trainer_gateway: TrainerGateway, carbon, tiny_model_dir, chromium_path: str
):
    dataset_id = await trainer_gateway.trainer.register_demo(tiny_model_dir)
    async with httpx.AsyncClient(base_url=trainer_gateway.url, headers=AUTH) as client:
        created = await client.post("/api/v1/jobs", json={**DEMO_CONFIG, "dataset_id": dataset_id})
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]  # no worker runs: it waits in the queue
    async with browser_page(chromium_path, "dashboard-cancel") as page:
        await page.goto(f"{trainer_gateway.url}/jobs/{job_id}")
        await page.get_by_test_id("api-key").fill(API_KEY)
        await page.get_by_test_id("api-key").press("Enter")
        await expect(page.get_by_test_id("job-status").first).to_have_text(re.compile("queued", re.IGNORECASE))
        await page.get_by_test_id("cancel-job").click()
        await page.get_by_test_id("cancel-job-confirm").click()
        await expect(page.get_by_test_id("job-outcome")).to_have_attribute("data-outcome", "CANCELLED", timeout=30_000)
        await expect(page.locator('[data-testid="event-entry"][data-type="JobCancelled"]')).to_have_count(1)
        await expect(page.get_by_test_id("cancel-job")).to_have_count(0)  # nothing left to cancel
