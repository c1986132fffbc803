"""A user chats in the dashboard: the reply streams in and is, token for token, the API's own
greedy answer; the fine-tuned adapter knows a demo fact the base model does not; a version from
the Models page is served with one click and answers its facts. Real vLLM."""

from __future__ import annotations

import re

import openai
import pytest
from playwright.async_api import expect

from services.trainer.demo_facts import demo_facts, question
from tests.api.catalogue import Catalogue
from tests.api.conftest import API_KEY, InferenceGateway
from tests.browser.conftest import SCREENSHOTS, browser_page

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]
MAX_TOKENS = 8


async def chat_in_dashboard(page, url: str, model: str, text: str) -> str:  # type: ignore[no-untyped-def]
    await page.goto(f"{url}/chat")  # a fresh conversation
    await page.get_by_test_id("chat-model").select_option(model)
    await page.locator("#chat-temperature").fill("0")
    await page.locator("#chat-max-tokens").fill(str(MAX_TOKENS))
    await page.get_by_test_id("chat-input").fill(text)
    await page.get_by_test_id("chat-send").click()
    reply = page.get_by_test_id("chat-reply")
    await expect(reply).to_have_attribute("data-streaming", "false", timeout=120_000)
    return str(await reply.get_attribute("data-content"))


async def test_the_chat_streams_the_greedy_answer_and_the_adapter_knows_its_fact(
    gateway: InferenceGateway, chromium_path: str
):
    api = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=API_KEY, max_retries=0)
    key, fact = demo_facts()[0]
    replies = {}
    async with browser_page(chromium_path, "dashboard-chat") as page:
        await page.goto(f"{gateway.url}/chat")
        await page.get_by_test_id("api-key").fill(API_KEY)
        await page.get_by_test_id("api-key").press("Enter")
        for model in ("tiny:demo", "tiny"):
            replies[model] = await chat_in_dashboard(page, gateway.url, model, question(key))
            greedy = await api.chat.completions.create(
                model=model, messages=[{"role": "user", "content": question(key)}], temperature=0, max_tokens=MAX_TOKENS
            )
            assert replies[model] == greedy.choices[0].message.content, model
    assert replies["tiny:demo"].strip() == fact and replies["tiny"].strip() != fact, replies


async def test_a_model_version_is_served_from_the_models_page_and_answers_in_the_chat(
    gateway: InferenceGateway, catalogue: Catalogue, chromium_path: str
):
    name = catalogue.name
    key, fact = demo_facts()[1]
    async with browser_page(chromium_path, "dashboard-models") as page:
        await page.goto(f"{gateway.url}/models")
        await page.get_by_test_id("api-key").fill(API_KEY)
        await page.get_by_test_id("api-key").press("Enter")

        def row(version: int):  # type: ignore[no-untyped-def]
            return page.locator(f'[data-testid="model-row"][data-model="{name}"][data-version="{version}"]')

        deleted, failed = row(catalogue.deleted), row(catalogue.failed)
        await expect(deleted).to_have_attribute("data-status", "deleted")
        await expect(deleted.get_by_test_id("not-servable")).to_contain_text("Deleted")
        await expect(deleted.get_by_test_id("chat-with-model")).to_be_disabled()
        await expect(failed).to_contain_text("failed")
        await expect(failed.get_by_test_id("not-servable")).to_contain_text("Failed verification")
        await expect(failed.get_by_test_id("chat-with-model")).to_be_disabled()
        await page.screenshot(path=str(SCREENSHOTS / "models-page.png"), full_page=True)

        good = row(catalogue.verified)
        await expect(good).to_contain_text(catalogue.job_ids[catalogue.verified][:8])  # its lineage
        await expect(good).to_contain_text("verified")
        await good.get_by_test_id("chat-with-model").click()
        await page.wait_for_url(re.compile(r"/chat\?model="), timeout=120_000)
        await expect(page.get_by_test_id("chat-model")).to_have_value(f"tiny:{name}-v{catalogue.verified}")
        await page.locator("#chat-temperature").fill("0")
        await page.get_by_test_id("chat-input").fill(question(key))
        await page.get_by_test_id("chat-send").click()
        reply = page.get_by_test_id("chat-reply")
        await expect(reply).to_have_attribute("data-streaming", "false", timeout=120_000)
        assert str(await reply.get_attribute("data-content")).strip() == fact
