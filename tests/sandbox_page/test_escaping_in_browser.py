"""Markup from the panel (service names, categories, links) and from a person shows as text:
no element is injected, no script runs; the bot's own formatting still shows as formatting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect

from bot.sandbox.run import SHARED_KEY, Sandbox
from tests.sandbox_page.browser import screenshot

PWN = "document.body.dataset.pwned=1"
EVIL_NAME = f'<img src=x onerror="{PWN}"><b>Evil</b> &amp; co'
EVIL_CATEGORY = f"<script>{PWN}</script>Hacks"
EVIL_LINK = f"https://example.com/<img/src=x/onerror={PWN}>"
PERSON_TEXT = f'<b>mine</b><img src=x onerror="{PWN}">'


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    services = [
        {
            "service": "1",
            "name": EVIL_NAME,
            "type": "Default",
            "category": EVIL_CATEGORY,
            "rate": "1",
            "min": "10",
            "max": "1000",
            "refill": True,
            "cancel": True,
        }
    ]
    async with Sandbox(data_dir=tmp_path / "data", services=services) as started:
        yield started


async def assert_nothing_injected(page: Page) -> None:
    assert await page.evaluate("document.querySelectorAll('img').length") == 0
    assert await page.evaluate("document.querySelectorAll('script').length") == 1  # page.js
    assert await page.evaluate("document.body.dataset.pwned") is None


async def test_panel_and_person_markup_is_shown_as_text(page: Page, sandbox: Sandbox) -> None:
    await page.fill("#input", "/start")
    await page.press("#input", "Enter")
    # The bot's own formatting is formatting.
    await expect(page.locator(".msg b", has_text="What I can do")).to_have_count(1)

    await page.fill("#input", PERSON_TEXT)
    await page.press("#input", "Enter")
    await expect(page.locator(".msg.mine").last).to_contain_text(PERSON_TEXT)

    await page.fill("#input", "/new")
    await page.press("#input", "Enter")
    category = page.locator(".keyboard button", has_text="<script>")
    await expect(category).to_contain_text(f"<script>{PWN}</script>")
    await category.click()
    await page.locator(".keyboard button", has_text="<img").last.click()
    card = page.locator(".msg", has_text="Price per 1000").last
    await expect(card).to_contain_text('<img src=x onerror="')
    # The name is in bold as a whole (the bot's markup), not "Evil" alone (the panel's).
    assert "Evil" not in await card.locator("b").all_inner_texts()

    # An order whose link carries markup, placed straight on the panel: its column shows text.
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            sandbox.sim.url,
            data={
                "key": SHARED_KEY,
                "action": "add",
                "service": "1",
                "link": EVIL_LINK,
                "quantity": "10",
            },
        ) as answer,
    ):
        assert (await answer.json())["order"] == "1000"
    order = page.locator('#orders .card[data-order="1000"]')
    await expect(order).to_contain_text(EVIL_LINK)
    await expect(order).to_contain_text('<img src=x onerror="')

    await screenshot(page, "6-markup-as-text")
    await assert_nothing_injected(page)
