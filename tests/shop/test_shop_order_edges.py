"""A shop's orders at their edges, end to end through the fake Bot API and the panel simulator:
what a panel that changes its mind after an order ended does to the wallet. The ledger's audit
is clean after each. Prices as in test_shop_journeys (service 5: cancel allowed)."""

from __future__ import annotations

from bot.domain import Placement
from tests.bot.harness import ALICE, Harness
from tests.shop.test_shop_journeys import (
    CANCELABLE,
    balance,
    confirmation,
    credit,
    services,
    sound,
    wait_for_text,
)


async def test_a_refunded_order_the_panel_reopens_stays_ended_on_refresh(shop: Harness) -> None:
    await credit(shop, ALICE, "5")
    await confirmation(shop, service=CANCELABLE)
    assert (await shop.press(ALICE, "Confirm")).text.startswith("✅ Placed")
    shop.sim.set_order(1000, status="Canceled")
    await wait_for_text(shop, ALICE, "went back to your wallet")
    assert await balance(shop) == 500
    # The panel flips the order back to In progress; Alice looks at it and presses Refresh.
    shop.sim.set_order(1000, status="In progress")
    await shop.say(ALICE, "/order 1000")
    card = await shop.press(ALICE, "🔄 Refresh")
    assert "Status: ✖️ Canceled" in card.text, card.text
    assert "Cancel order" not in str(card.buttons)
    order = await services(shop).orders.get(1)
    assert order is not None and order.final and order.placement is Placement.PLACED
    # Refunded and ended: the tracker never follows it again, and the wallet keeps its refund.
    assert [o.id for o in await services(shop).orders.due_for_tracking(float("inf"))] == []
    assert await balance(shop) == 500
    await sound(shop)
