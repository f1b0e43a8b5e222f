"""Own-key mode in the page: the command menu, and the key's message deleted live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from bot.sandbox.run import Sandbox
from tests.sandbox_page.browser import screenshot


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(mode="own-key", data_dir=tmp_path / "data") as started:
        yield started


async def test_connecting_a_key_from_the_menu_deletes_the_key_message(page: Page) -> None:
    await page.locator('#people-list li[data-person="1003"]').click()
    await expect(page.locator("#people-list li.active")).to_contain_text("sandbox-key-1003")
    await page.click("#menu-button")
    await page.locator("#command-menu button", has_text="/connect").click()
    await expect(page.locator(".msg.mine", has_text="/connect")).to_have_count(1)
    await expect(page.locator(".msg:not(.mine)")).to_have_count(1)  # the bot asks for the key
    await page.fill("#input", "sandbox-key-1003")
    await page.press("#input", "Enter")
    await expect(page.locator(".msg:not(.mine)")).to_have_count(2)  # connected, with the balance
    await expect(page.locator(".msg:not(.mine)").last).to_contain_text("25")
    # The message with the key is gone from the chat, as the bot deleted it.
    await expect(page.locator(".msg", has_text="sandbox-key-1003")).to_have_count(0)
    await screenshot(page, "7-own-key-connected")
