"""Own-key mode, two people connecting the same panel key: each order still has one owner."""

from __future__ import annotations

from decimal import Decimal

from bot.panel.client import PanelClient
from bot.panel.models import NewOrder
from tests.bot.harness import ALICE, BOB, Harness
from tests.bot.test_own_key import connect, place_package_order

SHARED_BY_TWO = "one-key-two-people-9c8b7a6f5e4d"


async def test_an_order_is_seen_only_by_the_person_who_follows_it(
    own_key_harness: Harness,
) -> None:
    h = own_key_harness
    h.sim.set_balance(SHARED_BY_TWO, Decimal("100"))
    await connect(h, ALICE, SHARED_BY_TWO)
    await connect(h, BOB, SHARED_BY_TWO)
    await place_package_order(h, ALICE, "https://instagram.com/alice")
    [placed] = h.sim.orders
    async with PanelClient(h.sim.url) as client:
        outside = await client.add(
            SHARED_BY_TWO, NewOrder(service=2, link="https://instagram.com/a", quantity=200)
        )
    await h.say_until(ALICE, f"/order {outside}", f"Order #{outside}")

    for panel_id in (placed, outside):
        await h.say_until(BOB, f"/order {panel_id}", f"no order #{panel_id}")
    assert h.app is not None
    assert await h.app.services.orders.list_pending(created_before=float("inf")) == []
    assert await h.app.services.orders.count_for_owner(BOB) == 0
    await h.say_until(ALICE, f"/order {placed}", f"Order #{placed}")
