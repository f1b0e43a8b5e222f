"""The broadcast segment "money in their wallet": a shop's people whose wallet holds money,
counted and reached once each; outside a shop there are no wallets and no such button."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.harness import ADMIN, Harness
from tests.console.people import broadcast, progress_says, received, seed

SEGMENT = "Money in their wallet"


@pytest.fixture
def shop_settings() -> dict[str, Any]:
    return {"mode": "shop", "allowed_user_ids": frozenset()}


async def test_people_with_money_in_their_wallet_get_it_once(shop: Harness) -> None:
    await seed(shop, range(5000, 5008))
    for chat_id in (5000, 5001, 5002, 5003, 5004):
        assert (await shop.say(ADMIN, f"/credit {chat_id} 5 gift")).text.startswith("Added")
    # Spent it all: no money now. Banned or blocked: never a broadcast.
    assert (await shop.say(ADMIN, "/debit 5002 5 fee")).text.startswith("Took")
    await shop.say(ADMIN, "/ban 5003")
    assert shop.app is not None
    await shop.app.services.users.set_blocked(5004, True)

    preview = await broadcast(shop, "Spend it!", SEGMENT)
    assert "It goes to 2 people" in preview.text
    await shop.press(ADMIN, "Send to them", message=preview)
    await shop.tg.wait_for(lambda: progress_says(shop, "Broadcast finished"), 20)
    assert progress_says(shop, "Sent: 2 · blocked the bot: 0 · failed: 0 · left: 0")
    for chat_id in range(5000, 5008):
        assert received(shop, chat_id, "Spend it!") == (1 if chat_id in (5000, 5001) else 0)


async def test_outside_a_shop_there_is_no_wallet_segment(harness: Harness) -> None:
    await harness.say(ADMIN, "/broadcast")
    await harness.say(ADMIN, "News")
    choices = await harness.press(ADMIN, "No button")
    labels = [button["text"] for button in choices.buttons]
    assert "Everyone" in labels and SEGMENT not in labels
    # A forged press of the shop's button is not an audience.
    forged = harness.button_data(ADMIN, "Everyone").replace("all", "wallet")
    harness.forge_press(ADMIN, forged, message=choices)
    await harness.settle()
    assert not any(m.text == "Preview:" for m in harness.tg.transcript(ADMIN))
