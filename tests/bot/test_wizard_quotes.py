"""The price shown is the price placed: a catalogue that changes after the confirmation screen
makes a new quote to confirm, never an order at a price the person did not see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.simulator import PanelSimulator, default_catalogue
from tests.bot.harness import ALICE, NO_TRACKING, SHARED_KEY, Harness, running
from tests.fakes.telegram import FakeTelegram

LINK = "https://instagram.com/p/abc"
NOT_UNDERSTOOD = "I did not understand that. Use the menu below, or send /help."


@pytest.fixture
def services() -> list[dict[str, Any]]:
    """The simulator's catalogue: the simulator answers `services` from this very list."""
    return default_catalogue()


@pytest.fixture
async def sim(services: list[dict[str, Any]]) -> AsyncIterator[PanelSimulator]:
    async with PanelSimulator(services=services, keys={SHARED_KEY: Decimal(100)}) as simulator:
        yield simulator


@pytest.fixture
async def harness(tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram) -> AsyncIterator[Harness]:
    async with running(tmp_path, sim, tg, **NO_TRACKING) as started:
        yield started


def entry(services: list[dict[str, Any]], service_id: int) -> dict[str, Any]:
    return next(e for e in services if e["service"] == str(service_id))


async def confirmation_for_service_2(harness: Harness) -> str:
    await harness.start_order(ALICE, 2)  # 1.45 per 1000
    await harness.say(ALICE, LINK)
    confirmation = await harness.say(ALICE, "100")
    assert "Price: 0.145 USD" in confirmation.text
    return harness.button_data(ALICE, "Confirm")


async def test_a_rate_changed_after_the_confirmation_shows_a_new_price_to_confirm(
    harness: Harness, services: list[dict[str, Any]]
) -> None:
    old_confirm = await confirmation_for_service_2(harness)
    entry(services, 2)["rate"] = "2.90"

    again = await harness.press(ALICE, "Confirm")

    assert harness.sim.request_count("add") == 0
    assert again.text.startswith(
        "⚠️ The price has changed. Nothing was placed: check the new price and confirm.\n\n"
        "Please check your order"
    )
    assert "Price: 0.29 USD" in again.text
    query = harness.forge_press(ALICE, old_confirm)  # the old price cannot be confirmed
    await harness.settle()
    assert harness.answer_of(query) == "This confirmation has expired."
    assert harness.sim.request_count("add") == 0

    placed = await harness.press(ALICE, "Confirm", message=again)
    assert placed.text.startswith("✅ Placed")
    assert harness.app is not None
    (order,) = await harness.app.services.orders.list_for_owner(ALICE, offset=0, limit=10)
    assert (order.price, order.rate) == (Decimal("0.29"), Decimal("2.90"))


async def test_a_price_unchanged_is_placed_as_quoted(harness: Harness) -> None:
    await confirmation_for_service_2(harness)
    placed = await harness.press(ALICE, "Confirm")

    assert placed.text.startswith("✅ Placed")
    assert harness.app is not None
    (order,) = await harness.app.services.orders.list_for_owner(ALICE, offset=0, limit=10)
    assert (order.price, order.rate, order.currency) == (Decimal("0.145"), Decimal("1.45"), "USD")


async def test_a_service_gone_after_the_confirmation_places_nothing(
    harness: Harness, services: list[dict[str, Any]]
) -> None:
    await confirmation_for_service_2(harness)
    services.remove(entry(services, 2))

    gone = await harness.press(ALICE, "Confirm")

    assert gone.text == (
        "This service is no longer offered as it was when you chose it, so nothing was placed. "
        "Please start again with /new."
    )
    assert harness.sim.request_count("add") == 0
    reply = await harness.say(ALICE, "100")  # the form is over
    assert reply.text == NOT_UNDERSTOOD


async def test_a_rate_changed_after_a_restart_is_still_caught(
    harness: Harness, services: list[dict[str, Any]]
) -> None:
    await confirmation_for_service_2(harness)
    confirmation = harness.last(ALICE)
    await harness.restart()
    entry(services, 2)["rate"] = "1.00"

    again = await harness.press(ALICE, "Confirm", message=confirmation)

    assert "Price: 0.1 USD" in again.text
    assert harness.sim.request_count("add") == 0


async def test_a_panel_down_at_confirm_places_nothing_and_keeps_the_confirmation(
    harness: Harness,
) -> None:
    await confirmation_for_service_2(harness)
    confirmation = harness.last(ALICE)
    await harness.restart()  # no catalogue cached, nothing to check the price against
    harness.sim.fail_next("html_500", times=10, action="services")

    again = await harness.press(ALICE, "Confirm", message=confirmation)

    assert again.text.startswith(
        "❗ The panel is not answering right now. Please try again in a minute.\n\n"
        "Please check your order"
    )
    assert "Price: 0.145 USD" in again.text
    assert harness.sim.request_count("add") == 0
    harness.sim.clear_faults()
    placed = await harness.press(ALICE, "Confirm", message=again)
    assert placed.text.startswith("✅ Placed")
