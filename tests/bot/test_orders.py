"""Placing and following orders in shared-key mode: outcomes, the list, the card, actions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.keyboards.callbacks import OrderAction
from bot.sandbox.chats import ChatMessage
from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ADMIN, ALICE, BOB, NO_TRACKING, SHARED_KEY, Harness, running
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def harness(tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram) -> AsyncIterator[Harness]:
    async with running(tmp_path, sim, tg, **NO_TRACKING) as started:
        yield started


LINK = "https://instagram.com/p/abc"


def labels(message: ChatMessage) -> list[str]:
    return [b["text"] for b in message.buttons]


async def confirmation(harness: Harness, service: int = 2, quantity: str = "100") -> ChatMessage:
    """The confirmation screen of an order of `service` (Default types, no drip-feed)."""
    await harness.start_order(ALICE, service)
    reply = await harness.say(ALICE, LINK)
    if "Please check your order" not in reply.text:  # a package asks no quantity
        reply = await harness.say(ALICE, quantity)
    if "Drip-feed" in reply.text:
        reply = await harness.press(ALICE, "⏭ Skip")
    assert "Please check your order" in reply.text
    return reply


async def place(harness: Harness, service: int = 2, quantity: str = "100") -> ChatMessage:
    await confirmation(harness, service, quantity)
    placed = await harness.press(ALICE, "Confirm")
    assert placed.text.startswith("✅ Placed"), placed.text
    return placed


# --- placing: what the panel answers ----------------------------------------------------------


async def test_the_panel_refuses_for_lack_of_funds(harness: Harness) -> None:
    await confirmation(harness)
    harness.sim.fail_next("error", action="add", message="Not enough funds on balance")

    reply = await harness.press(ALICE, "Confirm")

    assert reply.text == (
        "❌ The panel did not accept the order: Not enough funds on the panel balance."
    )
    assert harness.sim.orders == {}
    orders = await harness.say(ALICE, "/orders")
    assert labels(orders) == ["❌ — Instagram Followers & Likes Com…"]  # names cut at 32
    card = await harness.press(ALICE, "Instagram Followers")
    assert "This order was not placed: Not enough funds on the panel balance." in card.text
    assert labels(card) == ["📦 My orders"]  # nothing to refresh: the panel has no such order


async def test_a_balance_below_the_price_is_pointed_out_and_the_panel_refuses(
    harness: Harness,
) -> None:
    harness.sim.set_balance(SHARED_KEY, Decimal("0.1"))
    screen = await confirmation(harness)  # 0.145 USD
    assert "Your balance: 0.1 USD\n⚠️ The balance is lower than the price." in screen.text

    reply = await harness.press(ALICE, "Confirm")

    assert reply.text.endswith("Not enough funds on the panel balance.")
    assert harness.sim.orders == {}


async def test_a_raw_message_key_from_the_panel_is_translated(harness: Harness) -> None:
    await confirmation(harness)
    harness.sim.fail_next("error", action="add", message="neworder.error.link_duplicate")

    reply = await harness.press(ALICE, "Confirm")

    assert reply.text == (
        "❌ The panel did not accept the order: There is already an active order for this "
        "link. Wait until it is completed."
    )
    assert "neworder" not in reply.text


async def test_an_unknown_panel_refusal_is_quoted(harness: Harness) -> None:
    await confirmation(harness)
    harness.sim.fail_next("error", action="add", message="Service <b>paused</b> today")

    reply = await harness.press(ALICE, "Confirm")

    assert reply.text == (
        "❌ The panel did not accept the order: The panel answered: Service <b>paused</b> today"
    )


async def test_lost_answer_means_unknown_outcome_never_resent(harness: Harness) -> None:
    await confirmation(harness)
    harness.sim.fail_next("hang_after", action="add")  # the order is made, the answer lost

    reply = await harness.press(ALICE, "Confirm")

    assert reply.text.startswith(
        "⚠️ The panel gave no clear answer. The order may have been placed; it will not be "
        "sent again, so do not repeat it."
    )
    assert len(harness.sim.orders) == 1
    assert harness.sim.request_count("add") == 1
    card = await harness.press(ALICE, "Order card")
    assert "It may or may not have been placed; it was not sent again." in card.text
    assert "Status:" not in card.text
    orders = await harness.say(ALICE, "/orders")
    assert labels(orders)[0].startswith("⚠️ — ")


async def test_admins_are_told_once_about_an_unknown_outcome(harness: Harness) -> None:
    await confirmation(harness)
    harness.sim.fail_next("hang_after", action="add")
    await harness.press(ALICE, "Confirm")

    await harness.tg.wait_for_call("sendMessage", chat_id=ADMIN, timeout=5)
    await harness.say(ALICE, "/orders")  # later activity brings no second alert
    (alert,) = harness.tg.transcript(ADMIN)
    assert alert.text.startswith("⚠️ An order may or may not have been placed\n")
    assert "Person: 101" in alert.text
    assert "Service: Instagram Followers & Likes Combo [R30] (#2)" in alert.text
    assert harness.tg.transcript(BOB) == []


async def test_an_html_error_page_on_add_is_an_unknown_outcome(harness: Harness) -> None:
    # A 502 from a proxy may come after the panel took the order: it is not resent.
    await confirmation(harness)
    harness.sim.fail_next("html_500", action="add")

    reply = await harness.press(ALICE, "Confirm")

    assert reply.text.startswith("⚠️ The panel gave no clear answer")
    assert harness.sim.request_count("add") == 1
    assert harness.sim.orders == {}
    assert "<html>" not in harness.recorded_text()


async def test_a_rate_limited_add_was_not_placed(harness: Harness) -> None:
    # HTTP 429 is refused before any processing: surely not placed, so it can be tried again.
    await confirmation(harness)
    harness.sim.fail_next("http_429", action="add")

    reply = await harness.press(ALICE, "Confirm")

    assert reply.text.startswith("❌ The panel is not answering, so the order was not placed.")
    assert harness.sim.orders == {}
    await harness.say(ALICE, "/orders")
    card = await harness.press(ALICE, "Instagram")
    # The technical reason stays in the log; the person reads what it means.
    assert "This order was not placed: the panel could not be reached." in card.text
    assert "429" not in card.text
    await place(harness)  # a new attempt goes through
    assert len(harness.sim.orders) == 1


# --- the list and the card -------------------------------------------------------------------


async def test_orders_newest_first_with_icons_and_paging(harness: Harness) -> None:
    for _ in range(11):
        await place(harness, service=4)  # a package: the shortest wizard
    harness.sim.set_order(1010, status="Completed")
    harness.sim.set_order(1009, status="In progress")
    for order_id in (1010, 1009):
        await harness.say(ALICE, f"/order {order_id}")
        await harness.press(ALICE, "Refresh")

    page1 = await harness.say(ALICE, "/orders")
    assert page1.text == "Your orders (11), newest first:"
    buttons = labels(page1)
    assert buttons[:3] == [
        "✅ #1010 Instagram Followers Package — 1K",
        "🔄 #1009 Instagram Followers Package — 1K",
        "• #1008 Instagram Followers Package — 1K",
    ]
    assert [b.split()[1] for b in buttons[:10]] == [f"#{n}" for n in range(1010, 1000, -1)]
    assert buttons[10:] == ["1/2", "▶️"]

    page2 = labels(await harness.press(ALICE, "▶️"))
    assert page2 == ["• #1000 Instagram Followers Package — 1K", "◀️", "2/2"]
    card = await harness.press(ALICE, "#1000")
    assert card.text.startswith("Order #1000\n")
    mine = await harness.press(ALICE, "📦 My orders")
    assert labels(mine)[0].startswith("✅ #1010")
    assert all(len(data.encode()) <= 64 for data in harness.recorded_callback_data())


async def test_no_orders_yet(harness: Harness) -> None:
    reply = await harness.say(ALICE, "📦 My orders")
    assert reply.text == "You have no orders yet. Start one with /new."


async def test_order_card_and_refresh(harness: Harness) -> None:
    placed = await place(harness, service=2)
    card = await harness.press(ALICE, "Order card", message=placed)
    assert card.text.splitlines()[:2] == ["Order #1000", "Instagram Followers & Likes Combo [R30]"]
    assert "Status: not checked yet" in card.text
    assert "Price shown: 0.145 USD" in card.text  # in the currency of the confirmation
    assert f"Link: {LINK}" in card.text

    harness.sim.set_order(1000, status="In progress", start_count=1234, remains=56)
    harness.sim.reset_requests()
    card = await harness.press(ALICE, "Refresh")

    assert harness.sim.request_count("status") == 1
    lines = card.text.splitlines()
    assert lines[3:10] == [
        "Status: 🔄 In progress",
        "Charge: 0.145 USD",
        "Start count: 1,234",
        "Remains: 56",
        f"Link: {LINK}",
        "Quantity: 100",
        "Price shown: 0.145 USD",
    ]
    year = str(datetime.now(UTC).year)
    assert lines[10].startswith("Created: ") and year in lines[10] and lines[10].endswith(" UTC")
    assert lines[11].startswith("Updated: ") and year in lines[11]
    assert labels(card) == ["🔄 Refresh", "📦 My orders"]  # no refill yet, no cancel offered

    again = await harness.press(ALICE, "Refresh")  # nothing changed: the same card
    assert again.text == card.text


async def test_a_status_seen_on_refresh_is_not_pushed_again(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    tracking = {"poll_interval_seconds": 1.0, "poll_max_interval_seconds": 1.0}
    async with running(tmp_path, sim, tg, **tracking) as harness:
        placed = await place(harness)
        await harness.press(ALICE, "Order card", message=placed)
        sim.set_order(1000, status="In progress")
        assert "In progress" in (await harness.press(ALICE, "Refresh")).text

        asked = sim.request_count("status")
        await sim.wait_for_requests(asked + 2, "status")  # two tracker cycles, nothing new
        sim.set_order(1000, status="Completed", remains=0)
        await tg.wait_for(lambda: any("Completed" in t for t in harness.texts(ALICE)), 10)

        news = [t for t in harness.texts(ALICE) if t.startswith("🔔")]
        assert any("Completed" in t for t in news), news
        assert not any("In progress" in t for t in news), news


async def test_refill_only_when_allowed_and_completed(harness: Harness) -> None:
    await place(harness, service=1)  # refill and cancel allowed
    card = await harness.press(ALICE, "Order card")
    assert labels(card) == ["🔄 Refresh", "✖️ Cancel order", "📦 My orders"]

    harness.sim.set_order(1000, status="Completed", remains=0)
    card = await harness.press(ALICE, "Refresh")
    assert labels(card) == ["🔄 Refresh", "♻️ Refill", "📦 My orders"]  # final: no cancel

    reply = await harness.press(ALICE, "♻️ Refill")
    assert reply.text == "♻️ Refill requested for Order #1000: refill #500."
    assert [r.order_id for r in harness.sim.refills.values()] == [1000]


async def test_a_double_press_of_refill_asks_the_panel_once(harness: Harness) -> None:
    await place(harness, service=1)
    harness.sim.set_order(1000, status="Completed", remains=0)
    await harness.press(ALICE, "Order card")
    card = await harness.press(ALICE, "Refresh")

    first = harness.tap(ALICE, "♻️ Refill", message=card)
    second = harness.tap(ALICE, "♻️ Refill", message=card)
    await harness.settle()

    assert harness.sim.request_count("refill") == 1
    assert harness.answer_of(second) == "A refill of this order is already under way: refill #500."
    assert first != second
    # Once the panel is done with it (as tracking records it), another may be asked for.
    assert harness.app is not None
    [refill] = await harness.app.services.refills.list_for_order(1)
    await harness.app.services.refills.apply_status(refill.id, "Completed", True, None, None)
    await harness.press(ALICE, "♻️ Refill", message=card)
    assert harness.sim.request_count("refill") == 2


async def test_the_panel_refuses_a_refill(harness: Harness) -> None:
    await place(harness, service=1)
    harness.sim.set_order(1000, status="Partial", remains=10)
    await harness.press(ALICE, "Order card")
    await harness.press(ALICE, "Refresh")
    harness.sim.set_order(1000, status="In progress")  # changed meanwhile: not eligible

    reply = await harness.press(ALICE, "♻️ Refill")

    assert reply.text == "This order is not eligible for a refill."
    assert harness.sim.refills == {}


async def test_no_refill_for_a_service_without_refills(harness: Harness) -> None:
    await place(harness, service=5, quantity="100")  # refill not offered
    harness.sim.set_order(1000, status="Completed")
    card = await harness.press(ALICE, "Order card")
    card = await harness.press(ALICE, "Refresh")
    assert labels(card) == ["🔄 Refresh", "📦 My orders"]

    query = harness.forge_press(ALICE, OrderAction(action="refill", id=1).pack())
    await harness.settle()
    assert harness.answer_of(query) == "Not possible for this order now."
    assert harness.sim.request_count("refill") == 0


async def test_cancel_asks_first_then_cancels(harness: Harness) -> None:
    await place(harness, service=5, quantity="100")  # cancel allowed
    card = await harness.press(ALICE, "Order card")

    ask = await harness.press(ALICE, "✖️ Cancel order")
    assert ask.text == "Cancel Order #1000? The panel decides whether it can still be cancelled."
    card = await harness.press(ALICE, "No")
    assert card.text.startswith("Order #1000")
    assert harness.sim.orders[1000].status == "Pending"

    await harness.press(ALICE, "✖️ Cancel order")
    done = await harness.press(ALICE, "Yes, cancel it")
    assert done.text.startswith("Cancel requested for Order #1000.")
    assert harness.sim.orders[1000].status == "Canceled"

    card = await harness.press(ALICE, "Order card")
    card = await harness.press(ALICE, "Refresh")
    assert "Status: ✖️ Canceled" in card.text
    assert labels(card) == ["🔄 Refresh", "📦 My orders"]


async def test_no_cancel_where_the_service_forbids_it(harness: Harness) -> None:
    await place(harness, service=2)  # cancel not offered
    card = await harness.press(ALICE, "Order card")
    assert "✖️ Cancel order" not in labels(card)

    query = harness.forge_press(ALICE, OrderAction(action="cancel_yes", id=1).pack())
    await harness.settle()
    assert harness.answer_of(query) == "Not possible for this order now."
    assert harness.sim.request_count("cancel") == 0


async def test_the_panel_refuses_a_cancel(harness: Harness) -> None:
    await place(harness, service=5, quantity="100")
    await harness.press(ALICE, "Order card")
    await harness.press(ALICE, "✖️ Cancel order")
    harness.sim.set_order(1000, status="Completed")  # done meanwhile: the panel refuses

    reply = await harness.press(ALICE, "Yes, cancel it")

    assert reply.text == (
        "The panel refused to cancel Order #1000: The panel answered: Order cannot be canceled."
    )


# --- whose order -----------------------------------------------------------------------------


async def test_order_by_number(harness: Harness) -> None:
    await place(harness)
    card = await harness.say(ALICE, "/order 1000")
    assert card.text.startswith("Order #1000\n")
    assert (await harness.say(ALICE, "/order #1000")).text == card.text
    usage = await harness.say(ALICE, "/order abc")
    assert usage.text == "Send the order's number, for example: /order 23501"


async def test_someone_elses_order_number_is_refused_without_asking_the_panel(
    harness: Harness,
) -> None:
    await place(harness)
    harness.sim.reset_requests()

    theirs = await harness.say(BOB, "/order 1000")
    nobodys = await harness.say(BOB, "/order 1001")

    assert theirs.text == "You have no order #1000."
    assert nobodys.text == "You have no order #1001."  # the same words: nothing leaks
    assert theirs.buttons == []
    assert harness.sim.request_count() == 0


@pytest.mark.parametrize("action", ["card", "refresh", "refill", "cancel", "cancel_yes"])
async def test_a_forged_button_on_someone_elses_order_is_refused(
    harness: Harness, action: str
) -> None:
    await place(harness, service=5, quantity="100")
    harness.sim.set_order(1000, status="Completed")
    await harness.say(BOB, "/orders")
    harness.sim.reset_requests()

    query = harness.forge_press(BOB, OrderAction(action=action, id=1).pack())
    await harness.settle()

    assert harness.answer_of(query) == "Order not found."
    assert harness.sim.request_count() == 0
    assert "#1000" not in "\n".join(harness.texts(BOB))
    assert harness.sim.orders[1000].status == "Completed"


# --- balance ---------------------------------------------------------------------------------


async def test_balance_is_exact(harness: Harness) -> None:
    harness.sim.set_balance(SHARED_KEY, Decimal("100.84292"))
    assert (await harness.say(ALICE, "/balance")).text == "Balance: 100.84292 USD"
    harness.sim.set_balance(SHARED_KEY, Decimal("0.0000001"))
    assert (await harness.say(BOB, "💰 Balance")).text == "Balance: 0.0000001 USD"
