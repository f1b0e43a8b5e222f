"""Whatever the panel or a person sent, every screen is one Telegram accepts: escaped HTML,
at most 4,096 visible characters, short buttons and callback answers; and what matters (IDs,
amounts, prices, quantities, statuses) stays on it.

The fake Bot API refuses what Telegram refuses (bad entities, over-long text): a screen that
breaks shows as a refused call, and the person gets no screen or "something went wrong".
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.sandbox.chats import ChatMessage
from bot.sandbox.simulator import PanelSimulator
from bot.views.markup import BUTTON_LIMIT, CALLBACK_ANSWER_LIMIT, MESSAGE_LIMIT
from tests.bot.harness import ADMIN, ALICE, SHARED_KEY, Harness, running
from tests.fakes.telegram import FakeTelegram

LONG = 1  # Default: link, quantity; a 5,000-character name, category and description
MEDIA = 2  # Mentions Media Likers: link, quantity, media link
COMMENTS = 3  # Custom Comments: link, comments
PLAIN = 4  # Default, short texts

LONG_NAME = "<b>Likes</b> & <a href='https://evil.example'>more</a> " + "N" * 5000
LONG_CATEGORY = "Insta<gram> & " + "C" * 5000
LONG_DESCRIPTION = "<p>Fast</p><script>x</script> & " + "D" * 5000
LONG_LINK = "https://instagram.com/p/" + "a" * (2000 - len("https://instagram.com/p/"))
LONG_MEDIA = "https://instagram.com/m/" + "m" * (2000 - len("https://instagram.com/m/"))
LONG_TEXT = "<b>Refused</b> & " + "E" * 6000
LONG_STATUS = "<i>Waiting</i> & " + "S" * 6000
HOSTILE_CURRENCY = '<a href="https://evil.example">USD</a>'


def _service(number: int, name: str, kind: str, category: str, **extra: Any) -> dict[str, Any]:
    return {
        "service": str(number),
        "name": name,
        "type": kind,
        "category": category,
        "rate": "1.5",
        "min": "1",
        "max": "100000",
        "refill": True,
        "cancel": True,
        "dripfeed": False,
        **extra,
    }


CATALOGUE = [
    _service(LONG, LONG_NAME, "Default", LONG_CATEGORY, desc=LONG_DESCRIPTION),
    _service(MEDIA, "Media likers", "Mentions Media Likers", "Mentions"),
    _service(COMMENTS, "Custom comments", "Custom Comments", "Comments"),
    _service(PLAIN, "Plain likes", "Default", "Likes"),
]


class PanelCurrency:
    """The currency the panel's balance answer gives (the simulator's own is always USD)."""

    def __init__(self) -> None:
        self.value = "USD"

    def middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        @web.middleware
        async def rewrite(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            response = await handler(request)
            form = await request.post()
            if form.get("action") != "balance" or not isinstance(response, web.Response):
                return response
            body = json.loads(response.text or "null")
            if not isinstance(body, dict) or "currency" not in body:
                return response
            return web.json_response({**body, "currency": self.value})

        return rewrite


@pytest.fixture
def currency() -> PanelCurrency:
    return PanelCurrency()


@pytest.fixture
async def sim(currency: PanelCurrency) -> AsyncIterator[PanelSimulator]:
    simulator = PanelSimulator(services=CATALOGUE, keys={SHARED_KEY: Decimal("100")})
    simulator.app.middlewares.append(currency.middleware())
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def harness(quiet_harness: Harness) -> Harness:
    return quiet_harness


def assert_all_accepted(harness: Harness) -> None:
    """Telegram took every message, edit and callback answer; labels and answers are short."""
    refused = [(c.method, c.error_code) for c in harness.tg.calls if c.error_code]
    assert refused == []
    for call in harness.tg.calls:
        text = call.params.get("text")
        if call.method == "answerCallbackQuery" and isinstance(text, str):
            assert len(text) <= CALLBACK_ANSWER_LIMIT, text
    for label in _labels(harness):
        assert len(label) <= BUTTON_LIMIT, label


def _labels(harness: Harness) -> list[str]:
    labels = []
    for call in harness.tg.calls:
        markup = call.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if isinstance(markup, dict):
            rows = markup.get("inline_keyboard", [])
            labels += [str(button["text"]) for row in rows for button in row]
    return labels


def assert_fits(message: ChatMessage) -> None:
    assert len(message.text) <= MESSAGE_LIMIT
    assert "<a" not in message.raw_text.replace("&lt;a", "")  # no link but as text


async def _confirmation(harness: Harness, service: int, *answers: str) -> ChatMessage:
    await harness.start_order(ALICE, service)
    for text in answers:
        reply = await harness.say(ALICE, text)
    assert "Please check your order" in reply.text, reply.text
    return reply


# --- panel text is text ---------------------------------------------------------------------


async def test_a_currency_holding_a_link_shows_as_text(
    harness: Harness, currency: PanelCurrency
) -> None:
    currency.value = HOSTILE_CURRENCY
    reply = await harness.say(ALICE, "/balance")
    assert reply.text.startswith("Balance: 100")
    assert_fits(reply)

    confirmation = await _confirmation(harness, PLAIN, "https://instagram.com/p/x", "1000")
    assert "Price: 1.5" in confirmation.text
    assert_fits(confirmation)
    assert_all_accepted(harness)


async def test_a_currency_with_an_angle_bracket_still_lets_people_order(
    harness: Harness, currency: PanelCurrency
) -> None:
    currency.value = "US<D"
    balance = await harness.say(ALICE, "/balance")
    assert balance.text.startswith("Balance: 100")

    confirmation = await _confirmation(harness, PLAIN, "https://instagram.com/p/x", "1000")
    assert "Price: 1.5" in confirmation.text
    placed = await harness.press(ALICE, "Confirm")
    assert placed.text.startswith("✅ Placed: Order #1000.")
    card = await harness.press(ALICE, "Order card")
    assert "Price shown: 1.5" in card.text
    assert_all_accepted(harness)


# --- the longest values each screen's inputs allow ------------------------------------------


async def test_a_5000_character_category_name_and_description(harness: Harness) -> None:
    categories = await harness.say(ALICE, "/new")
    services = await harness.press(ALICE, "Insta<gram>", message=categories)
    assert services.text.startswith("Insta<gram> & CCC")
    assert_fits(services)

    card = await harness.press(ALICE, f"#{LONG} ")
    lines = card.text.splitlines()
    assert lines[0].startswith("<b>Likes</b> & <a href='https://evil.example'>more</a> NNN")
    assert f"Service ID: {LONG}" in lines
    assert "Price per 1000: 1.5" in lines
    assert "Minimum: 1 · Maximum: 100,000" in lines
    assert "Fast" in card.text and "<script>" not in card.text
    assert_fits(card)

    question = await harness.press(ALICE, "Order")
    assert_fits(question)
    confirmation = await harness.say(ALICE, "https://instagram.com/p/x")
    confirmation = await harness.say(ALICE, "1000")
    assert "Price: 1.5" in confirmation.text
    assert_fits(confirmation)
    placed = await harness.press(ALICE, "Confirm")
    assert placed.text.startswith("✅ Placed: Order #1000.")

    orders = await harness.say(ALICE, "/orders")
    card = await harness.press(ALICE, "#1000", message=orders)
    assert card.text.startswith("Order #1000\n<b>Likes</b>")
    assert "Quantity: 1,000" in card.text and "Price shown: 1.5 USD" in card.text
    assert_fits(card)
    assert_all_accepted(harness)


async def test_mentions_with_a_2000_character_link_and_media_link(harness: Harness) -> None:
    confirmation = await _confirmation(harness, MEDIA, LONG_LINK, "500", LONG_MEDIA)
    assert "Quantity: 500" in confirmation.text
    assert "Price: 0.75 USD" in confirmation.text
    assert "Link: https://instagram.com/p/aaa" in confirmation.text
    assert "Media: https://instagram.com/m/mmm" in confirmation.text
    assert_fits(confirmation)

    placed = await harness.press(ALICE, "Confirm")
    assert placed.text.startswith("✅ Placed: Order #1000.")
    (order,) = harness.sim.orders.values()
    assert order.fields["link"] == LONG_LINK and order.fields["media"] == LONG_MEDIA  # whole

    card = await harness.press(ALICE, "Order card")
    assert "Quantity: 500" in card.text and "Price shown: 0.75 USD" in card.text
    assert_fits(card)
    assert_all_accepted(harness)


async def test_custom_comments_with_a_long_link_and_long_comments(harness: Harness) -> None:
    comments = [f"{n} " + "c" * 496 for n in range(1, 8)]  # 7 lines of 500: one message
    confirmation = await _confirmation(harness, COMMENTS, LONG_LINK, "\n".join(comments))
    assert "Comments (7):" in confirmation.text
    assert "… and 2 more" in confirmation.text
    assert "Price: 0.0105 USD" in confirmation.text
    assert_fits(confirmation)

    await harness.press(ALICE, "Confirm")
    (order,) = harness.sim.orders.values()
    assert order.fields["comments"] == "\n".join(comments)  # shortened on screen only
    assert_all_accepted(harness)


async def test_a_6000_character_panel_error(harness: Harness) -> None:
    await _confirmation(harness, PLAIN, "https://instagram.com/p/x", "1000")
    harness.sim.fail_next("error", action="add", message=LONG_TEXT)
    refused = await harness.press(ALICE, "Confirm")
    assert refused.text.startswith("❌ The panel did not accept the order: ")
    assert "<b>Refused</b> & EEE" in refused.text
    assert_fits(refused)

    orders = await harness.say(ALICE, "/orders")
    card = await harness.press(ALICE, "Plain likes", message=orders)
    assert "This order was not placed: The panel answered: <b>Refused</b>" in card.text
    assert_fits(card)
    assert_all_accepted(harness)


async def test_a_6000_character_status_on_the_order_card(harness: Harness) -> None:
    await _confirmation(harness, LONG, LONG_LINK, "1000")
    await harness.press(ALICE, "Confirm")
    harness.sim.set_order(1000, status=LONG_STATUS, charge=Decimal("1.5"))

    await harness.press(ALICE, "Order card")
    card = await harness.press(ALICE, "Refresh")
    assert "Status: • <i>Waiting</i> & SSS" in card.text
    assert "Charge: 1.5 USD" in card.text
    assert "Quantity: 1,000" in card.text
    assert_fits(card)
    assert_all_accepted(harness)


async def test_an_unknown_outcome_of_a_long_order_for_admins(harness: Harness) -> None:
    await _confirmation(harness, LONG, LONG_LINK, "1000")
    harness.sim.fail_next("hang_after", action="add")
    await harness.press(ALICE, "Confirm")

    def alerted() -> bool:
        return any("may or may not" in m.text for m in harness.tg.transcript(ADMIN))

    await harness.tg.wait_for(alerted, 10)
    (alert,) = [m for m in harness.tg.transcript(ADMIN) if "may or may not" in m.text]
    assert "Local ID: 1" in alert.text and "Quantity: 1,000" in alert.text
    assert f"(#{LONG})" in alert.text
    assert_fits(alert)

    listing = await harness.say(ADMIN, "/unknown")
    assert f"Local 1 · person {ALICE}" in listing.text
    assert_fits(listing)
    assert_all_accepted(harness)


# --- notifications --------------------------------------------------------------------------


async def test_notifications_of_long_names_and_statuses_are_told_whole(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with running(tmp_path, sim, tg) as harness:
        for _ in range(12):
            await _confirmation(harness, LONG, LONG_LINK, "1000")
            await harness.press(ALICE, "Confirm")
        assert len(sim.orders) == 12
        for number in sim.orders:
            sim.set_order(number, status=LONG_STATUS)

        def told() -> int:
            return sum(m.text.count("🔔") for m in tg.transcript(ALICE))

        await tg.wait_for(lambda: told() >= 12, 10)
        notices = [m for m in tg.transcript(ALICE) if "🔔" in m.text]
        assert len(notices) >= 2  # ten changes to a message at most
        for notice in notices:
            assert_fits(notice)
        told_orders = {line for m in notices for line in m.text.splitlines() if "🔔" in line}
        assert told_orders == {f"🔔 Order #{number}" for number in sim.orders}
        assert_all_accepted(harness)


async def test_a_notification_of_a_charge_in_a_hostile_currency(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, currency: PanelCurrency
) -> None:
    currency.value = HOSTILE_CURRENCY
    async with running(tmp_path, sim, tg) as harness:
        await _confirmation(harness, PLAIN, "https://instagram.com/p/x", "1000")
        await harness.press(ALICE, "Confirm")
        sim.orders[1000].currency = HOSTILE_CURRENCY  # the status answer's too
        sim.set_order(1000, status="Partial", remains=400, charge=Decimal("0.9"))

        def told() -> bool:
            return any("🔔" in m.text for m in tg.transcript(ALICE))

        await tg.wait_for(told, 10)
        (notice,) = [m for m in tg.transcript(ALICE) if "🔔" in m.text]
        assert "Status: 🌓 Partial" in notice.text and "Remains: 400" in notice.text
        assert "Charge: 0.9" in notice.text
        assert_fits(notice)
        assert_all_accepted(harness)


@pytest.mark.parametrize("language", ["ru", "ja"])
async def test_the_longest_order_in_other_languages(harness: Harness, language: str) -> None:
    await harness.say(ALICE, "/start", language=language)  # the language of first contact
    await harness.open_service(ALICE, MEDIA)
    await harness.press(ALICE, "🛒")
    for text in (LONG_LINK, "500"):
        await harness.say(ALICE, text)
    confirmation = await harness.say(ALICE, LONG_MEDIA)
    assert "0,75" in confirmation.text or "0.75" in confirmation.text  # the price
    assert_fits(confirmation)
    await harness.press(ALICE, "✅")
    card = await harness.press(ALICE, "📄")
    assert "#1000" in card.text and "500" in card.text
    assert_fits(card)
    assert_all_accepted(harness)
