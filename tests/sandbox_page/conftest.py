"""The sandbox, started whole, and a headless Chromium looking at its page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from bot.sandbox.run import Sandbox
from tests.sandbox_page.browser import CHROMIUM_ARGS, chromium


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(data_dir=tmp_path / "data", poll_interval_seconds=0.3) as started:
        yield started


@pytest.fixture
async def page(sandbox: Sandbox) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            await page.goto(sandbox.page.url)
            await expect(page.locator("body[data-ready]")).to_have_count(1)
            yield page
        finally:
            await browser.close()
