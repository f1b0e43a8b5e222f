"""Own-key mode: every person connects their own panel API key, and the bot uses only theirs."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from bot.keyboards.callbacks import ConfirmOrder, OrderAction, OrdersPage, ServiceCard, StartOrder
from bot.panel.client import PanelClient
from bot.panel.models import NewOrder
from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ALICE, BOB, Harness, running
from tests.fakes.telegram import FakeTelegram

ALICE_KEY = "alice-own-key-5f0c2d9e8a7b"
BOB_KEY = "bob-own-key-1a2b3c4d5e6f"
WRONG_KEY = "not-a-known-key-77aa88bb"
PACKAGE_SERVICE = 4  # "Instagram Followers Package — 1K": one question, the link
CONNECT_FIRST = "Connect your panel API key first"
PLAIN_TEXT = "Send the key as plain text"


@pytest.fixture(autouse=True)
def _own_keys(sim: PanelSimulator) -> None:
    sim.set_balance(ALICE_KEY, Decimal("42.5"))
    sim.set_balance(BOB_KEY, Decimal("7"))


def deleted(h: Harness, user: int, message_id: int) -> bool:
    return any(
        c.chat_id == user and c.params.get("message_id") == message_id and c.error_code is None
        for c in h.tg.calls_of("deleteMessage")
    )


async def send_key(h: Harness, user: int, text: str, expect: str) -> str:
    """Send a message holding a key; check it was deleted; the bot's answer."""
    message_id = await h.say_until(user, text, expect)
    assert deleted(h, user, message_id)
    return h.last(user).text


async def connect(h: Harness, user: int, key: str, expect: str = "Connected") -> str:
    await h.say(user, "/connect")
    return await send_key(h, user, key, expect)


async def place_package_order(h: Harness, user: int, link: str, expect: str = "Placed") -> str:
    """Search the package service by ID, answer its one question, confirm; the outcome text."""
    await h.say_until(user, f"/search {PACKAGE_SERVICE}", "Found")
    await h.press_until(user, "Package — 1K", f"Service ID: {PACKAGE_SERVICE}")
    await h.press_until(user, "Order", "Send the link")
    await h.say_until(user, link, "check your order")
    return (await h.press_until(user, "Confirm", expect)).text


def send_media(h: Harness, user: int, kind: str, caption: str) -> int:
    """A photo or document with `caption`, as Telegram delivers it; the message's id."""
    person = h.tg.person(user)
    if kind == "photo":
        return person.send_photo(caption)
    return person.send_document("key.txt", caption)


# --- locked until connected -------------------------------------------------------------------


async def test_start_explains_how_to_connect(own_key_harness: Harness) -> None:
    h = own_key_harness
    h.sim.reset_requests()
    reply = await h.say(ALICE, "/start")
    assert "/connect" in reply.text
    assert "First connect your panel API key" in reply.text
    assert h.sim.request_count() == 0


async def test_commands_need_a_key_and_touch_no_panel(own_key_harness: Harness) -> None:
    h = own_key_harness
    h.sim.reset_requests()
    for command in ("/new", "/orders", "/balance", "/search likes", "/order 5", "📦 My orders"):
        reply = await h.say(ALICE, command)
        assert CONNECT_FIRST in reply.text, command
        assert "/connect" in reply.text
    assert h.sim.request_count() == 0


async def test_public_commands_work_before_connecting(own_key_harness: Harness) -> None:
    h = own_key_harness
    h.sim.reset_requests()
    assert "/connect" in (await h.say(ALICE, "/help")).text
    assert (await h.say(ALICE, "/language")).buttons
    assert "Nothing to cancel" in (await h.say(ALICE, "/cancel")).text
    assert "Send your panel API key" in (await h.say(ALICE, "/connect")).text
    assert h.sim.request_count() == 0


async def test_order_buttons_need_a_key(own_key_harness: Harness) -> None:
    h = own_key_harness
    await h.say(ALICE, "/start")
    h.sim.reset_requests()
    buttons = (
        StartOrder(service=PACKAGE_SERVICE),
        ServiceCard(service=PACKAGE_SERVICE),
        ConfirmOrder(token="0" * 32),
        OrderAction(action="refresh", id=1),
        OrdersPage(page=0),
    )
    for data in (button.pack() for button in buttons):
        query = h.forge_press(ALICE, data)
        await h.settle()
        assert CONNECT_FIRST in h.answer_of(query)
    assert h.sim.request_count() == 0


# --- connecting -------------------------------------------------------------------------------


async def test_connect_deletes_the_key_checks_it_and_shows_the_balance(
    own_key_harness: Harness,
) -> None:
    h = own_key_harness
    reply = await h.say(ALICE, "/connect")
    assert "Send your panel API key" in reply.text
    h.sim.reset_requests()
    message_id = await h.say_until(ALICE, ALICE_KEY, "Connected")
    assert deleted(h, ALICE, message_id)
    assert h.tg.message(ALICE, message_id).deleted  # type: ignore[union-attr]
    assert [action for action, _ in h.sim.requests] == ["balance"]
    assert "42.5" in h.last(ALICE).text
    assert ALICE_KEY.encode() not in await h.stored_bytes()
    assert h.app is not None
    assert await h.app.services.keys.get(ALICE) == ALICE_KEY
    await h.say_until(ALICE, "/balance", "Balance: 42.5")


async def test_wrong_key_is_deleted_refused_and_the_question_stays(
    own_key_harness: Harness,
) -> None:
    h = own_key_harness
    reply_text = await connect(h, ALICE, WRONG_KEY, "does not accept this key")
    assert "/cancel" in reply_text
    assert WRONG_KEY.encode() not in await h.stored_bytes()
    # The question is still open: the next message is taken as the key.
    await send_key(h, ALICE, ALICE_KEY, "Connected")


async def test_a_command_is_not_taken_for_the_key(own_key_harness: Harness) -> None:
    h = own_key_harness
    await connect(h, ALICE, WRONG_KEY, "does not accept this key")
    h.sim.reset_requests()
    message_id = await h.say_until(ALICE, "/balance", CONNECT_FIRST)
    assert not deleted(h, ALICE, message_id)
    assert h.sim.request_count() == 0
    # ... and the question is still open.
    await send_key(h, ALICE, ALICE_KEY, "Connected")


@pytest.mark.parametrize("kind", ["photo", "document"])
async def test_a_key_in_a_caption_is_deleted_and_plain_text_asked_for(
    own_key_harness: Harness, kind: str
) -> None:
    h = own_key_harness
    await h.say(ALICE, "/connect")
    h.sim.reset_requests()
    message_id = send_media(h, ALICE, kind, ALICE_KEY)
    await h.settle()
    assert deleted(h, ALICE, message_id)
    assert PLAIN_TEXT in h.last(ALICE).text
    assert h.sim.request_count() == 0
    assert ALICE_KEY not in h.recorded_text()
    # The question is still open: the key sent as text connects.
    await send_key(h, ALICE, ALICE_KEY, "Connected")


async def test_a_caption_that_cannot_be_deleted_still_gets_an_answer(
    own_key_harness: Harness,
) -> None:
    h = own_key_harness
    await h.say(ALICE, "/connect")
    h.tg.faults.fail_next(
        "deleteMessage", error_code=400, description="Bad Request: message can't be deleted"
    )
    send_media(h, ALICE, "photo", ALICE_KEY)
    await h.settle()
    assert PLAIN_TEXT in h.last(ALICE).text
    assert h.sim.request_count() == 0
    await send_key(h, ALICE, ALICE_KEY, "Connected")


async def test_a_key_sent_while_flooding_is_deleted_all_the_same(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    # Three updates, and no more for the rest of the test.
    settings = {"panel_key": None, "throttle_updates_per_second": 0.001, "throttle_burst": 3}
    async with running(tmp_path, sim, tg, **settings) as h:
        await h.say(ALICE, "/connect")
        for number in range(2):
            h.tg.send_text(ALICE, f"hello there {number}")
        dropped = [h.tg.send_text(ALICE, key) for key in (ALICE_KEY, WRONG_KEY, BOB_KEY)]
        await h.settle()
        for message_id in dropped:
            assert deleted(h, ALICE, message_id)
        assert h.sim.request_count() == 0  # dropped: no key reached the panel
        # Told once that the key went unread, not once per dropped message.
        told = [t for t in h.texts(ALICE) if "send the key again" in t]
        assert len(told) == 1
        assert h.last(ALICE).text == told[0]
        # Outside the question, /connect with the key is deleted; anything else is left alone.
        await h.say(BOB, "/start")
        for number in range(2):
            h.tg.send_text(BOB, f"hello there {number}")
        inline = h.tg.send_text(BOB, f"/connect {BOB_KEY}")
        extra = h.tg.send_text(BOB, "one too many")
        await h.settle()
        assert deleted(h, BOB, inline)
        assert not deleted(h, BOB, extra)
        assert "send the key again" in h.last(BOB).text
        assert h.sim.request_count() == 0
        recorded = h.recorded_text()
        assert ALICE_KEY not in recorded
        assert BOB_KEY not in recorded


async def test_a_menu_button_leaves_the_key_question(own_key_harness: Harness) -> None:
    h = own_key_harness
    await h.say(ALICE, "/connect")
    h.sim.reset_requests()
    message_id = h.tg.send_text(ALICE, "📦 My orders")
    await h.settle()
    assert not deleted(h, ALICE, message_id)
    assert CONNECT_FIRST in h.last(ALICE).text  # what the button does before connecting
    # The question is closed: what comes next is not taken for a key, nor deleted.
    message_id = h.tg.send_text(ALICE, "some-text-without-spaces")
    await h.settle()
    assert not deleted(h, ALICE, message_id)
    assert "I did not understand that" in h.last(ALICE).text
    assert h.sim.request_count() == 0


async def test_a_menu_button_in_the_persons_language_does_what_it_says(
    own_key_harness: Harness,
) -> None:
    h = own_key_harness
    await h.say(BOB, "/start", language="ja")
    await send_key(h, BOB, f"/connect {BOB_KEY}", "登録しました")
    await h.say(BOB, "/connect")  # to connect another key, then changing his mind
    h.sim.reset_requests()
    message_id = await h.say_until(BOB, "💰 残高", "残高：7")
    assert not deleted(h, BOB, message_id)
    # One balance request, on his stored key (7 is its balance): the label was no key.
    assert [action for action, _ in h.sim.requests] == ["balance"]
    h.sim.reset_requests()
    await h.say(BOB, "some-text-without-spaces")
    assert h.sim.request_count() == 0
    assert h.app is not None
    assert await h.app.services.keys.get(BOB) == BOB_KEY


async def test_connect_with_the_key_inline(own_key_harness: Harness) -> None:
    h = own_key_harness
    await send_key(h, ALICE, f"/connect {WRONG_KEY}", "does not accept this key")
    await send_key(h, ALICE, f"/connect   {ALICE_KEY} ", "Connected")
    await h.say_until(ALICE, "/balance", "Balance: 42.5")


async def test_something_that_is_not_a_key(own_key_harness: Harness) -> None:
    h = own_key_harness
    h.sim.reset_requests()
    await connect(h, ALICE, "my key is " + ALICE_KEY, "does not look like an API key")
    assert h.sim.request_count() == 0


async def test_panel_down_while_connecting(
    tmp_path: Path,
    sim: PanelSimulator,
    tg: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fast_retries = {"panel_read_retries": 1, "panel_retry_backoff_seconds": 0.01}
    async with running(tmp_path, sim, tg, panel_key=None, **fast_retries) as h:
        await h.say(ALICE, "/connect")
        sim.fail_next("html_500", times=2, action="balance")
        text = await send_key(h, ALICE, ALICE_KEY, "not answering")
        assert "Try /connect again later" in text
        assert sim.request_count("balance") == 2  # tried, and tried again: then told the person
        assert CONNECT_FIRST in (await h.say(ALICE, "/balance")).text
        assert ALICE_KEY.encode() not in await h.stored_bytes()
    assert ALICE_KEY not in caplog.text


# --- connected --------------------------------------------------------------------------------


async def test_order_is_placed_with_the_persons_own_key(own_key_harness: Harness) -> None:
    h = own_key_harness
    await connect(h, ALICE, ALICE_KEY)
    await h.say_until(ALICE, "/new", "Choose a category")
    await place_package_order(h, ALICE, "https://instagram.com/alice")
    [order] = h.sim.orders.values()
    assert order.key == ALICE_KEY
    assert h.sim.balance_of(ALICE_KEY) == Decimal("34.5")
    assert h.sim.balance_of(BOB_KEY) == Decimal("7")


async def test_two_people_see_only_their_own_orders(own_key_harness: Harness) -> None:
    h = own_key_harness
    await connect(h, ALICE, ALICE_KEY)
    await connect(h, BOB, BOB_KEY)
    await place_package_order(h, ALICE, "https://instagram.com/alice")
    # Bob's balance (7) is below the package price (8): the panel refuses it on his key.
    await place_package_order(h, BOB, "https://instagram.com/bob", "Not enough funds")
    h.sim.set_balance(BOB_KEY, Decimal("20"))
    await place_package_order(h, BOB, "https://instagram.com/bob2")
    by_key = {order.key: order.id for order in h.sim.orders.values()}
    assert set(by_key) == {ALICE_KEY, BOB_KEY}

    alice_list = await h.say(ALICE, "/orders")
    assert [b["text"] for b in alice_list.buttons if f"#{by_key[ALICE_KEY]}" in b["text"]]
    assert not [b for b in alice_list.buttons if f"#{by_key[BOB_KEY]}" in b["text"]]
    bob_list = await h.say(BOB, "/orders")
    assert not [b for b in bob_list.buttons if f"#{by_key[ALICE_KEY]}" in b["text"]]

    await h.say_until(BOB, f"/order {by_key[ALICE_KEY]}", f"no order #{by_key[ALICE_KEY]}")
    await h.say_until(ALICE, f"/order {by_key[ALICE_KEY]}", f"Order #{by_key[ALICE_KEY]}")


async def test_an_order_placed_outside_the_bot_is_adopted(own_key_harness: Harness) -> None:
    h = own_key_harness
    await connect(h, ALICE, ALICE_KEY)
    await connect(h, BOB, BOB_KEY)
    async with PanelClient(h.sim.url) as client:
        panel_id = await client.add(
            ALICE_KEY, NewOrder(service=2, link="https://instagram.com/a", quantity=200)
        )
    h.sim.set_order(panel_id, status="In progress", remains=150, start_count=10)

    await h.say_until(BOB, f"/order {panel_id}", f"no order #{panel_id}")
    await h.say_until(ALICE, f"/order {panel_id}", f"Order #{panel_id}")
    card = h.texts(ALICE)[-1]
    assert "In progress" in card
    assert "150" in card
    # Adopted: it is in her list from now on, and asking again does not duplicate it.
    await h.say_until(ALICE, f"/order {panel_id}", f"Order #{panel_id}")
    listed = [b for b in (await h.say(ALICE, "/orders")).buttons if f"#{panel_id}" in b["text"]]
    assert len(listed) == 1
    assert not [b for b in (await h.say(BOB, "/orders")).buttons if f"#{panel_id}" in b["text"]]
    # Tracked on her key from now on: a change is news, the status she saw on the card is not.
    h.sim.set_order(panel_id, status="Completed", remains=0)
    await h.tg.wait_for(lambda: any("Completed" in t for t in h.texts(ALICE)), timeout=10)
    news = [t for t in h.texts(ALICE) if t.startswith("🔔")]
    assert len(news) == 1, news
    assert "In progress" not in news[0]


async def test_disconnect_deletes_the_key_and_locks_again(own_key_harness: Harness) -> None:
    h = own_key_harness
    await connect(h, ALICE, ALICE_KEY)
    reply = await h.say(ALICE, "/disconnect")
    assert "Disconnected" in reply.text
    h.sim.reset_requests()
    assert CONNECT_FIRST in (await h.say(ALICE, "/balance")).text
    assert CONNECT_FIRST in (await h.say(ALICE, "/new")).text
    assert h.sim.request_count() == 0
    assert "No key is connected" in (await h.say(ALICE, "/disconnect")).text
    assert h.app is not None
    assert await h.app.services.keys.get(ALICE) is None


async def test_the_key_never_reaches_telegram_or_the_logs(
    own_key_harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = own_key_harness
    await connect(h, ALICE, WRONG_KEY, "does not accept this key")
    await send_key(h, BOB, f"/connect {BOB_KEY}", "Connected")
    await connect(h, ALICE, ALICE_KEY)
    await h.say_until(ALICE, "/balance", "Balance")
    await place_package_order(h, ALICE, "https://instagram.com/alice")
    await h.say(ALICE, "/orders")
    await h.say(ALICE, "/disconnect")
    recorded = h.recorded_text()
    for key in (ALICE_KEY, BOB_KEY, WRONG_KEY):
        assert key not in recorded
        assert key not in caplog.text
