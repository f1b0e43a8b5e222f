"""A shop's orders at their edges, end to end through the fake Bot API and the panel simulator:
what a panel that changes its mind after an order ended does to the wallet, a double Yes to a
cancel, a confirmation made before the bot became a shop or changed its currency, and one
outlasting a top-up of a typed amount. The ledger's audit is clean after each. Prices as in
test_shop_journeys (service 5: cancel allowed)."""

from __future__ import annotations

from pathlib import Path

from bot.domain import Placement
from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ALICE, SHOP, Harness, running
from tests.fakes.telegram import FakeTelegram
from tests.shop.test_shop_journeys import (
    CANCELABLE,
    balance,
    confirmation,
    credit,
    services,
    sound,
    wait_for_text,
)
from tests.shop.test_topup_journeys import pay


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


async def test_a_failed_order_the_panel_sends_again_is_followed_again_on_refresh(
    shop: Harness,
) -> None:
    # Nothing went back for a Failed order: when the panel's operator sends it again, Refresh
    # shows it moving, as it did.
    await credit(shop, ALICE, "5")
    await confirmation(shop, service=CANCELABLE)
    await shop.press(ALICE, "Confirm")
    shop.sim.set_order(1000, status="Fail")
    await wait_for_text(shop, ALICE, "Failed")
    shop.sim.set_order(1000, status="In progress")
    await shop.say(ALICE, "/order 1000")
    card = await shop.press(ALICE, "🔄 Refresh")
    assert "Status: 🔄 In progress" in card.text, card.text
    assert await balance(shop) == 499
    await sound(shop)


async def test_a_confirmation_made_before_the_shop_opened_is_priced_before_anything_is_placed(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with running(tmp_path, sim, tg) as h:  # shared-key mode: the panel's price
        screen = await confirmation(h)
        assert "Price: 0.145" in screen.text, screen.text
        # The operator opens a shop selling at the panel's price (no markup) and restarts;
        # Alice, her wallet empty, presses the Confirm she was shown before.
        await h.restart_with(mode="shop", allowed_user_ids=frozenset(), shop_markup_percent=0)
        reply = await h.press(ALICE, "Confirm", message=screen)
        assert "check the new price and confirm" in reply.text, reply.text
        assert "Price: 0.15 USD" in reply.text and "short of the price" in reply.text
        assert h.sim.orders == {}
        told = await h.press(ALICE, "Confirm", message=reply)
        assert "0.15 USD more is needed" in told.text, told.text
        assert h.sim.orders == {} and await balance(h) == 0
        await sound(h)


async def test_yes_cancel_tapped_twice_says_cancelled_and_refunds_once(shop: Harness) -> None:
    await credit(shop, ALICE, "5")
    await confirmation(shop, service=CANCELABLE)
    await shop.press(ALICE, "Confirm")
    await shop.press(ALICE, "Order card")
    ask = await shop.press(ALICE, "✖️ Cancel order")
    # A double tap: the panel cancels at the first, and refuses the second.
    shop.tap(ALICE, "Yes, cancel it", message=ask)
    shop.tap(ALICE, "Yes, cancel it", message=ask)
    await shop.settle()
    assert shop.sim.orders[1000].status == "Canceled"
    shown = shop.tg.message(ALICE, ask.message_id)
    assert shown is not None and shown.text.startswith("Cancel requested for Order #1000."), shown
    assert not any("refused" in t for t in shop.texts(ALICE)), shop.texts(ALICE)
    await wait_for_text(shop, ALICE, "went back to your wallet")
    assert await balance(shop) == 500
    await sound(shop)


async def test_a_confirmation_priced_in_another_currency_is_priced_again(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with running(tmp_path, sim, tg, **SHOP) as h:
        await credit(h, ALICE, "1")
        screen = await confirmation(h)
        assert "Price: 0.19 USD" in screen.text
        # The operator sells in yen from now on (the same number per yen, for the sake of it)
        # and restarts: the 19 cents Alice saw are not 19 yen.
        await h.restart_with(shop_currency="JPY")
        reply = await h.press(ALICE, "Confirm", message=screen)
        assert "check the new price and confirm" in reply.text, reply.text
        assert h.sim.orders == {}
        await sound(h)


async def test_a_typed_top_up_from_the_confirmation_keeps_the_order_to_confirm(
    shop: Harness,
) -> None:
    await credit(shop, ALICE, "0.10")
    screen = await confirmation(shop)
    assert "short of the price" in screen.text
    # Before pressing Confirm, Alice tops up an amount of her own, and pays.
    await shop.say(ALICE, "/topup")
    await shop.press(ALICE, "Other amount")
    assert (await pay(shop, await shop.say(ALICE, "1"))).ok
    assert await balance(shop) == 110
    placed = await shop.press(ALICE, "Confirm", message=screen)
    assert placed.text.startswith("✅ Placed"), placed.text
    assert await balance(shop) == 91
    await sound(shop)
