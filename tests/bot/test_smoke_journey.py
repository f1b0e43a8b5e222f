"""A person's first minutes with the bot, shared-key mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ALICE, STRANGER, Harness
from tests.fakes.telegram import FakeTelegram


@pytest.fixture(params=["polling", "webhook"])
async def harness(
    request: pytest.FixtureRequest, tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> AsyncIterator[Harness]:
    """These first minutes, with updates taken by long polling and by the webhook server."""
    h = Harness(tmp_path, sim, tg, runner=request.param)
    await h.start()
    yield h
    await h.stop()


async def test_start_shows_menu_and_help(harness: Harness) -> None:
    reply = await harness.say(ALICE, "/start")
    assert "Hello" in reply.text
    assert "/new" in reply.text
    sent = harness.tg.calls_of("sendMessage")[-1].params
    assert "keyboard" in sent["reply_markup"]


async def test_stranger_is_refused_with_their_id_and_panel_untouched(harness: Harness) -> None:
    harness.sim.reset_requests()
    reply = await harness.say(STRANGER, "/balance")
    assert str(STRANGER) in reply.text
    assert harness.sim.request_count() == 0


async def test_order_from_catalogue_to_placed(harness: Harness) -> None:
    reply = await harness.say(ALICE, "/new")
    assert "Choose a category" in reply.text
    first_category = reply.buttons[0]["text"]
    reply = await harness.press(ALICE, first_category)
    service_button = reply.buttons[0]["text"]
    reply = await harness.press(ALICE, service_button)
    assert "Price per 1000" in reply.text
    reply = await harness.press(ALICE, "Order")
    assert reply.text
