"""Fixtures of the dashboard tests: headless Chromium (Debian's package) driven by Playwright,
against the built dashboard served by the API gateway in front of the real services (the
gateways of tests/api).

Without Chromium or a dashboard build the tests are skipped, saying what to install; CI sets
GREENTUNE_REQUIRE_BROWSER=1, which turns that skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from services.api.config import ApiSettings
from tests.api.conftest import gateway, trainer_gateway  # noqa: F401  # the fixtures, shared
from tests.carbon.conftest import carbon  # noqa: F401
from tests.inference.conftest import service  # noqa: F401
from tests.trainer.conftest import trainer, trainer_ctx  # noqa: F401

CHROMIUM_FLAGS = [  # this machine's network is closed: no background calls home, no sandbox as root
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip
SCREENSHOTS = Path(os.environ.get("GREENTUNE_SCREENSHOT_DIR", "/tmp/greentune-screenshots"))


def _unavailable(reason: str) -> None:
    if os.environ.get("GREENTUNE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (GREENTUNE_REQUIRE_BROWSER=1: the dashboard tests must run here)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    found = os.environ.get("GREENTUNE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        _unavailable("no Chromium here: install Debian's chromium (apt-get install chromium) or set GREENTUNE_CHROMIUM")
    assert found is not None
    if not (ApiSettings().dashboard_dir / "index.html").is_file():
        _unavailable("the dashboard is not built: run scripts/build-dashboard (needs npm)")
    return found


@asynccontextmanager
async def browser_page(chromium_path: str, name: str) -> AsyncIterator[Any]:
    """A fresh browser page (in the calling test's event loop); an uncaught error in the page fails
    the test, and a full-page screenshot is kept in GREENTUNE_SCREENSHOT_DIR/<name>.png at the end."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            yield page
        finally:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
            await browser.close()
        assert not errors, f"the dashboard threw in the browser: {errors}"
