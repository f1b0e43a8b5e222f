"""PanelAccount binds one key: every client action without the key argument."""

from __future__ import annotations

from decimal import Decimal

from bot.panel.account import PanelAccount
from bot.panel.client import PanelClient
from bot.panel.models import ItemError, NewOrder
from bot.sandbox.simulator import PanelSimulator


async def test_account_actions_use_its_key(
    client: PanelClient, sim: PanelSimulator, key: str, other_key: str
) -> None:
    mine, theirs = PanelAccount(client, key), PanelAccount(client, other_key)
    assert mine.client is client
    assert len(await mine.services()) == len(sim.catalogue)
    order_id = await mine.add(NewOrder(service=1, link="https://t.me/x", quantity=100))
    assert sim.orders[order_id].key == key
    assert (await mine.status(order_id)).status == "Pending"
    assert (await theirs.statuses([order_id]))[order_id] == ItemError(message="Incorrect order ID")
    sim.set_order(order_id, status="Completed")
    refill_id = await mine.refill(order_id)
    assert await mine.refill_status(refill_id) == "Pending"
    assert await mine.refill_statuses([refill_id]) == {refill_id: "Pending"}
    assert await theirs.refills([order_id]) == {order_id: ItemError(message="Incorrect order ID")}
    assert await mine.refills([order_id]) == {order_id: 501}
    assert await mine.cancel([order_id]) == {
        order_id: ItemError(message="Order cannot be canceled.")
    }
    assert (await mine.balance()).balance == Decimal("99.91")
    assert (await theirs.balance()).balance == Decimal("5")
