"""The order wizard in shared-key mode: questions per service type, prices, answers, Confirm."""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.keyboards.callbacks import ConfirmOrder
from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ALICE, BOB, NO_TRACKING, Harness, running
from tests.fakes.telegram import FakeTelegram
from tests.intents import write_intent


@pytest.fixture
async def harness(tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram) -> AsyncIterator[Harness]:
    async with running(tmp_path, sim, tg, **NO_TRACKING) as started:
        yield started


LINK = "https://instagram.com/p/abc"
IN_A_YEAR = (datetime.now(UTC) + timedelta(days=400)).strftime("%d/%m/%Y")
COMMENTS = [f"Comment number {n}" for n in range(1, 11)]
USERNAMES = [f"user_{n}" for n in range(100)]


@dataclass
class Case:
    service: int
    steps: list[str]  # typed text, or "[label]" to press the button so labelled
    summary: list[str]  # the confirmation's lines between the service name and the price
    price: str
    fields: dict[str, str]
    optional: set[int] = field(default_factory=set)  # steps offering Skip


def button(label: str) -> str:
    return f"[{label}]"


CASES = {
    "default with drip-feed": Case(
        1,
        [LINK, "100", "3", button("15")],
        [f"Link: {LINK}", "Quantity: 100", "Runs: 3", "Interval (minutes): 15", "Total: 300"],
        "0.27 USD",  # 0.90 × 100 × 3 runs / 1000
        {"link": LINK, "quantity": "100", "runs": "3", "interval": "15"},
        optional={2},
    ),
    "default, drip-feed skipped": Case(
        5,
        [LINK, "10", button("⏭ Skip")],
        [f"Link: {LINK}", "Quantity: 10"],
        "0.000123 USD",  # 0.0123 × 10 / 1000, not rounded
        {"link": LINK, "quantity": "10"},
        optional={2},
    ),
    "default without drip-feed": Case(
        2,
        [LINK, "100"],
        [f"Link: {LINK}", "Quantity: 100"],
        "0.145 USD",
        {"link": LINK, "quantity": "100"},
    ),
    "type written in lower case": Case(
        21,
        [LINK, "1000"],
        [f"Link: {LINK}", "Quantity: 1,000"],
        "1.8 USD",
        {"link": LINK, "quantity": "1000"},
    ),
    "package asks no quantity": Case(4, [LINK], [f"Link: {LINK}"], "8 USD", {"link": LINK}),
    "custom comments count lines": Case(
        8,
        [LINK, "\n".join(COMMENTS)],
        [
            f"Link: {LINK}",
            "Comments (10):",
            *(f"  {c}" for c in COMMENTS[:5]),
            "  … and 5 more",
        ],
        "0.08 USD",  # 8 × 10 lines / 1000
        {"link": LINK, "comments": "\n".join(COMMENTS)},
    ),
    "custom comments package": Case(
        9,
        [LINK, "Nice!\n\nGreat <3"],
        [f"Link: {LINK}", "Comments (2):", "  Nice!", "  Great <3"],
        "2.5 USD",
        {"link": LINK, "comments": "Nice!\nGreat <3"},
    ),
    "comment replies": Case(
        10,
        [LINK, "@author", "\n".join(COMMENTS[:5])],
        [
            f"Link: {LINK}",
            "Username: author",
            "Comments (5):",
            *(f"  {c}" for c in COMMENTS[:5]),
        ],
        "0.06 USD",
        {"link": LINK, "username": "author", "comments": "\n".join(COMMENTS[:5])},
    ),
    "mentions custom list count lines": Case(
        11,
        [LINK, "\n".join("@" + u for u in USERNAMES)],
        [
            f"Link: {LINK}",
            "Usernames (100):",
            *(f"  {u}" for u in USERNAMES[:5]),
            "  … and 95 more",
        ],
        "0.4 USD",
        {"link": LINK, "usernames": "\n".join(USERNAMES)},
    ),
    "mentions": Case(
        12,
        [LINK, "100", "alice\n@bob"],
        [f"Link: {LINK}", "Quantity: 100", "Usernames (2):", "  alice", "  bob"],
        "0.3 USD",
        {"link": LINK, "quantity": "100", "usernames": "alice\nbob"},
    ),
    "mentions with hashtags": Case(
        13,
        [LINK, "200", "alice", "#sale\npromo"],
        [
            f"Link: {LINK}",
            "Quantity: 200",
            "Usernames (1):",
            "  alice",
            "Hashtags (2):",
            "  sale",
            "  promo",
        ],
        "0.76 USD",
        {"link": LINK, "quantity": "200", "usernames": "alice", "hashtags": "sale\npromo"},
    ),
    "mentions hashtag": Case(
        14,
        [LINK, "500", "#travel"],
        [f"Link: {LINK}", "Quantity: 500", "Hashtag: travel"],
        "1.375 USD",
        {"link": LINK, "quantity": "500", "hashtag": "travel"},
    ),
    "mentions user followers": Case(
        15,
        [LINK, "500", "@nasa"],
        [f"Link: {LINK}", "Quantity: 500", "Username: nasa"],
        "1.375 USD",
        {"link": LINK, "quantity": "500", "username": "nasa"},
    ),
    "mentions media likers": Case(
        16,
        [LINK, "1000", "https://instagram.com/p/media"],
        [f"Link: {LINK}", "Quantity: 1,000", "Media: https://instagram.com/p/media"],
        "2.9 USD",
        {"link": LINK, "quantity": "1000", "media": "https://instagram.com/p/media"},
    ),
    "comment likes": Case(
        6,
        [LINK, "20", "@author"],
        [f"Link: {LINK}", "Quantity: 20", "Username: author"],
        "0.07 USD",
        {"link": LINK, "quantity": "20", "username": "author"},
    ),
    "poll": Case(
        7,
        [LINK, "100", "2"],
        [f"Link: {LINK}", "Quantity: 100", "Answer number: 2"],
        "0.12 USD",
        {"link": LINK, "quantity": "100", "answer_number": "2"},
    ),
    "subscriptions ask no link": Case(
        17,
        ["@brand", "100", "200", "5", button("⏭ Skip"), button("30"), IN_A_YEAR],
        [
            "Username: brand",
            "Minimum: 100",
            "Maximum: 200",
            "New posts: 5",
            "Delay (minutes): 30",
            f"Expiry: {IN_A_YEAR}",
        ],
        "set by the panel when the order is placed.",
        {
            "username": "brand",
            "min": "100",
            "max": "200",
            "posts": "5",
            "delay": "30",
            "expiry": IN_A_YEAR,
        },
        optional={3, 4, 6},
    ),
    "invites from groups": Case(
        18,
        [LINK, "100", "https://t.me/one\nhttps://t.me/two"],
        [
            f"Link: {LINK}",
            "Quantity: 100",
            "Groups (2):",
            "  https://t.me/one",
            "  https://t.me/two",
        ],
        "0.52 USD",
        {"link": LINK, "quantity": "100", "groups": "https://t.me/one\nhttps://t.me/two"},
    ),
    "web traffic": Case(
        20,
        [LINK, "1000", button("⏭ Skip"), "US", button("2"), button("1"), "smm panel"],
        [
            f"Link: {LINK}",
            "Quantity: 1,000",
            "Country: US",
            "Device: 2",
            "Type of traffic: 1",
            "Google keyword: smm panel",
        ],
        "0.35 USD",
        {
            "link": LINK,
            "quantity": "1000",
            "country": "US",
            "device": "2",
            "type_of_traffic": "1",
            "google_keyword": "smm panel",
        },
        optional={2, 3, 4, 5, 6},
    ),
}


def labels(message: object) -> list[str]:
    return [b["text"] for b in message.buttons]  # type: ignore[attr-defined]


async def answer(harness: Harness, user: int, step: str) -> object:
    if step.startswith("[") and step.endswith("]"):
        return await harness.press(user, step[1:-1])
    return await harness.say(user, step)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_every_service_type_from_questions_to_one_order(harness: Harness, case: Case) -> None:
    name = next(e["name"] for e in harness.sim.catalogue if e["service"] == str(case.service))
    question = await harness.start_order(ALICE, case.service)
    for number, step in enumerate(case.steps):
        buttons = labels(question)
        assert buttons[-1] == "✖️ Cancel", f"step {number}: {question.text}"
        assert ("⬅️ Back" in buttons) == (number > 0), f"step {number}: {buttons}"
        assert ("⏭ Skip" in buttons) == (number in case.optional), f"step {number}: {buttons}"
        question = await answer(harness, ALICE, step)

    lines = question.text.splitlines()
    assert lines[:3] == ["Please check your order", "", html.unescape(name)]
    assert lines[3 : 3 + len(case.summary)] == case.summary
    assert f"Price: {case.price}" in lines
    assert labels(question) == ["✅ Confirm", "⬅️ Back", "✖️ Cancel"]
    assert harness.sim.request_count("add") == 0

    placed = await harness.press(ALICE, "Confirm")
    assert placed.text.startswith("✅ Placed: Order #1000.")
    assert harness.sim.request_count("add") == 1
    (order,) = harness.sim.orders.values()
    assert order.fields == {"service": str(case.service), **case.fields}


async def test_back_removes_only_the_last_answer(harness: Harness) -> None:
    await harness.start_order(ALICE, 1)
    await harness.say(ALICE, "https://example.com/first")
    again = await harness.press(ALICE, "⬅️ Back")
    assert again.text.endswith("Send the link (http:// or https://).")
    await harness.say(ALICE, LINK)
    await harness.say(ALICE, "100")
    confirm = await harness.press(ALICE, "⏭ Skip")
    assert "Please check your order" in confirm.text

    runs = await harness.press(ALICE, "⬅️ Back")  # from the confirmation: the skipped question
    assert "Drip-feed: in how many runs?" in runs.text
    quantity = await harness.press(ALICE, "⬅️ Back")
    assert "How many?" in quantity.text
    await harness.say(ALICE, "200")
    await harness.press(ALICE, "⏭ Skip")
    placed = await harness.press(ALICE, "Confirm")

    assert placed.text.startswith("✅ Placed")
    (order,) = harness.sim.orders.values()
    assert order.fields == {"service": "1", "link": LINK, "quantity": "200"}


async def test_buttons_of_earlier_questions_change_nothing(harness: Harness) -> None:
    await harness.start_order(ALICE, 1)
    await harness.say(ALICE, LINK)
    runs_question = await harness.say(ALICE, "100")
    await harness.say(ALICE, "3")

    late_skip = harness.tap(ALICE, "⏭ Skip", message=runs_question)
    await harness.settle()
    assert harness.answer_of(late_skip) == "This question was already answered."
    confirmation = await harness.press(ALICE, "15")
    assert "Runs: 3" in confirmation.text
    await harness.press(ALICE, "Confirm")

    after = harness.tap(ALICE, "⏭ Skip", message=runs_question)
    await harness.settle()
    assert harness.answer_of(after) == "This order form has expired."
    (order,) = harness.sim.orders.values()
    assert order.fields["runs"] == "3"


async def test_cancel_while_answering_and_on_the_confirmation(harness: Harness) -> None:
    await harness.start_order(ALICE, 2)
    cancelled = await harness.press(ALICE, "✖️ Cancel")
    assert cancelled.text == "Order cancelled. Nothing was placed."
    reply = await harness.say(ALICE, LINK)  # no longer an answer to anything
    assert reply.text == "I did not understand that. Use the menu below, or send /help."

    await harness.start_order(ALICE, 2)
    await harness.say(ALICE, LINK)
    confirmation = await harness.say(ALICE, "100")
    confirm_data = harness.button_data(ALICE, "Confirm")
    cancelled = await harness.press(ALICE, "✖️ Cancel")
    assert cancelled.message_id == confirmation.message_id
    assert cancelled.text == "Order cancelled. Nothing was placed."

    query = harness.forge_press(ALICE, confirm_data)  # an old Confirm, seen on another device
    await harness.settle()
    assert harness.answer_of(query) == "This confirmation has expired."
    assert harness.sim.request_count("add") == 0


SUBSCRIPTION = ["brand", "100", "200"]  # username, min, max
SUBSCRIPTION_TO_EXPIRY = [*SUBSCRIPTION, "[⏭ Skip]", "[⏭ Skip]", "[0]"]
TRAFFIC = [LINK, "1000", "[⏭ Skip]"]  # link, quantity, no drip-feed
URL = "Send a link starting with http:// or https://."
DIGITS = "Send a whole number, digits only."

# question: (service, answers before it, [(bad answer, the explanation it gets), ...])
BAD_ANSWERS: dict[str, tuple[int, list[str], list[tuple[str, str]]]] = {
    "link": (
        2,
        [],
        [
            ("instagram", URL),
            (".", URL),
            ("\u3164", URL),  # an invisible letter
            ("ftp://example.com/x", URL),
            ("https://exa mple.com", URL),
            ("https://x.com/" + "a" * 2000, "This link is too long."),
        ],
    ),
    "quantity": (
        2,
        [LINK],
        [
            ("1e3", DIGITS),
            ("-5", DIGITS),
            ("5.5", DIGITS),
            ("1 000", DIGITS),
            ("５０００", DIGITS),
            ("9" * 30, "Send a number from 100 to 50,000."),
            ("99", "Send a number from 100 to 50,000."),
            ("50001", "Send a number from 100 to 50,000."),
        ],
    ),
    "runs": (
        1,
        [LINK, "100"],
        [
            ("1", "Send a number from 2 to 100."),
            ("101", "Quantity × runs is 10,100, above the service's maximum of 10,000."),
            ("two", DIGITS),
        ],
    ),
    "interval": (1, [LINK, "100", "3"], [("7", "Choose one of: 0, 5, 10, 15, 30, 60, 90.")]),
    "comments": (
        8,
        [LINK],
        [
            (
                "\n".join(COMMENTS[:9]),
                "Send from 10 to 1,500 lines, one item per line (you sent 9).",
            ),
            (
                "\n".join([*COMMENTS[:9], "x" * 501]),
                "Line 10: A line is too long: at most 500 characters.",
            ),
        ],
    ),
    "usernames": (
        12,
        [LINK, "100"],
        [("alice\nbad user!", "Line 2: Send a username: letters, digits, dots and underscores.")],
    ),
    "hashtags": (
        13,
        [LINK, "200", "alice"],
        [("#ok\n#not ok", "Line 2: Send one hashtag without spaces.")],
    ),
    "username": (
        15,
        [LINK, "500"],
        [("nasa\nesa", "Send a single line."), ("@@nasa", "Send a username")],
    ),
    "hashtag": (14, [LINK, "500"], [("#two words", "Send one hashtag without spaces.")]),
    "media": (16, [LINK, "1000"], [("ftp://x.com/m", URL)]),
    "poll answer": (
        7,
        [LINK, "100"],
        [("0", "Send a number from 1 to 100."), ("first", DIGITS)],
    ),
    "groups": (18, [LINK, "100"], [("x\n" + "y" * 501, "Line 2: A line is too long")]),
    "subscription min": (17, ["brand"], [("10", "Send a number from 50 to 10,000.")]),
    "subscription max": (
        17,
        ["brand", "200"],
        [("100", "The maximum must not be below the minimum (200).")],
    ),
    "new posts": (17, SUBSCRIPTION, [("-1", DIGITS), ("100001", "from 0 to 100,000")]),
    "delay": (17, [*SUBSCRIPTION, "[⏭ Skip]", "[⏭ Skip]"], [("7", "Choose one of: 0, 5, 10,")]),
    "expiry": (
        17,
        SUBSCRIPTION_TO_EXPIRY,
        [
            ("31/12/2000", "The date must be in the future."),
            ("31/02/2030", "Send a date as day/month/year, for example 31/12/2027."),
            ("2030-12-31", "Send a date as day/month/year"),
        ],
    ),
    "country": (20, TRAFFIC, [("U\nS", "Send a single line."), ("U" * 501, "at most 500")]),
    "device": (20, [*TRAFFIC, "US"], [("9", "Choose one of: 1, 2, 3, 4, 5.")]),
    "type of traffic": (20, [*TRAFFIC, "US", "[2]"], [("4", "Choose one of: 1, 2, 3.")]),
    "google keyword": (20, [*TRAFFIC, "US", "[2]", "[1]"], [("a\nb", "Send a single line.")]),
    "referring URL": (20, [*TRAFFIC, "US", "[2]", "[2]"], [("ftp://x.com", URL)]),
}


@pytest.mark.parametrize(("service", "before", "bad"), BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
async def test_a_bad_answer_is_explained_and_the_question_stays(
    harness: Harness, service: int, before: list[str], bad: list[tuple[str, str]]
) -> None:
    question = await harness.start_order(ALICE, service)
    for step in before:
        question = await answer(harness, ALICE, step)
    prompt = question.text

    for text, explanation in bad:
        reply = await harness.say(ALICE, text)

        assert reply.message_id != question.message_id
        assert reply.text.startswith("❗ "), text
        assert explanation in reply.text, text
        assert reply.text.endswith(prompt), text  # the same question again
        assert labels(reply) == labels(question)
    assert harness.sim.request_count("add") == 0


async def test_a_sticker_is_not_an_answer(harness: Harness) -> None:
    question = await harness.start_order(ALICE, 2)
    harness.tg.add_update(
        {
            "message": {
                "message_id": 999,
                "from": {"id": ALICE, "is_bot": False, "first_name": "Alice"},
                "chat": {"id": ALICE, "type": "private", "first_name": "Alice"},
                "date": 0,
                "sticker": {
                    "file_id": "x",
                    "file_unique_id": "y",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                },
            }
        }
    )
    await harness.settle()
    assert harness.last(ALICE).text == "Please answer with text, or press Cancel."
    reply = await harness.say(ALICE, LINK)  # the question was still open
    assert "How many?" in reply.text
    assert question.text.endswith("Send the link (http:// or https://).")


async def test_commands_and_menu_buttons_still_work_during_the_wizard(harness: Harness) -> None:
    await harness.start_order(ALICE, 2)
    reply = await harness.say(ALICE, "/balance")
    assert reply.text == "Balance: 100 USD"
    reply = await harness.say(ALICE, "📦 My orders")
    assert reply.text == "You have no orders yet. Start one with /new."
    reply = await harness.say(ALICE, LINK)  # the wizard waited
    assert "How many?" in reply.text


async def test_an_order_is_taken_while_every_worker_thread_is_busy(harness: Harness) -> None:
    # The menu's texts, the wizard's states and the admins' gate are checked in the event
    # loop: none waits for a thread of the default pool (aiogram would send each there).
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    release = threading.Event()
    busy = loop.run_in_executor(None, release.wait)
    try:
        await harness.say(ALICE, "🛒 New order")
        await harness.start_order(ALICE, 2)
        await harness.say(ALICE, LINK)
        confirm = await harness.say(ALICE, "100")
        assert "Please check your order" in confirm.text
        placed = await harness.press(ALICE, "Confirm")
        assert placed.text.startswith("✅ Placed")
    finally:
        release.set()
        await busy


async def test_double_confirm_places_one_order(harness: Harness) -> None:
    await harness.start_order(ALICE, 2)
    await harness.say(ALICE, LINK)
    confirmation = await harness.say(ALICE, "100")

    data = harness.button_data(ALICE, "Confirm")
    first = harness.tap(ALICE, "Confirm", message=confirmation)
    second = harness.tap(ALICE, "Confirm", message=confirmation)
    await harness.settle()

    assert len(harness.sim.orders) == 1
    placed = [t for t in harness.texts(ALICE) if t.startswith("✅ Placed")]
    assert placed == ["✅ Placed: Order #1000. I will tell you when its status changes."]
    assert harness.answer_of(first) == "Checking the price…"
    assert harness.answer_of(second) == "This order was already sent."
    assert confirmation.buttons == []  # the Confirm button is gone

    later = harness.forge_press(ALICE, data)
    await harness.settle()
    assert harness.answer_of(later) == "This order was already sent."
    assert len(harness.sim.orders) == 1


async def test_confirm_pressed_again_later_says_already_sent(harness: Harness) -> None:
    await harness.start_order(ALICE, 2)
    await harness.say(ALICE, LINK)
    await harness.say(ALICE, "100")
    data = harness.button_data(ALICE, "Confirm")
    await harness.press(ALICE, "Confirm")

    await harness.start_order(ALICE, 4)  # a new wizard in between changes nothing
    query = harness.forge_press(ALICE, data)
    await harness.settle()

    assert harness.answer_of(query) == "This order was already sent."
    assert len(harness.sim.orders) == 1


async def test_someone_elses_confirm_places_nothing(harness: Harness) -> None:
    await harness.start_order(ALICE, 2)
    await harness.say(ALICE, LINK)
    await harness.say(ALICE, "100")
    data = harness.button_data(ALICE, "Confirm")
    await harness.say(BOB, "/start")

    query = harness.forge_press(BOB, data)
    await harness.settle()

    assert harness.answer_of(query) == "This confirmation has expired."
    assert harness.sim.request_count("add") == 0
    placed = await harness.press(ALICE, "Confirm")  # Alice's own is untouched
    assert placed.text.startswith("✅ Placed")


async def test_a_restart_in_the_middle_of_the_wizard(harness: Harness) -> None:
    await harness.start_order(ALICE, 1)
    await harness.say(ALICE, LINK)
    await harness.restart()

    runs = await harness.say(ALICE, "100")
    assert "Drip-feed: in how many runs?" in runs.text
    await harness.say(ALICE, "2")
    confirmation = await harness.press(ALICE, "30")
    assert "Price: 0.18 USD" in confirmation.text
    placed = await harness.press(ALICE, "Confirm")

    assert placed.text.startswith("✅ Placed")
    (order,) = harness.sim.orders.values()
    assert order.fields == {
        "service": "1",
        "link": LINK,
        "quantity": "100",
        "runs": "2",
        "interval": "30",
    }
    card = await harness.press(ALICE, "Order card")
    assert "Quantity: 100\nDrip-feed: 2 runs, 30 minutes apart, 200 in all" in card.text


async def test_a_restart_between_confirmation_and_confirm(harness: Harness) -> None:
    await harness.start_order(ALICE, 2)
    await harness.say(ALICE, LINK)
    confirmation = await harness.say(ALICE, "100")
    await harness.restart()

    placed = await harness.press(ALICE, "Confirm", message=confirmation)
    assert placed.text.startswith("✅ Placed")
    query = harness.forge_press(ALICE, ConfirmOrder(token="0" * 32).pack())
    await harness.settle()
    assert harness.answer_of(query) == "This confirmation has expired."
    assert len(harness.sim.orders) == 1


async def test_confirm_after_a_crash_that_cut_off_the_sending_places_nothing(
    harness: Harness,
) -> None:
    await harness.start_order(ALICE, 2)
    await harness.say(ALICE, LINK)
    confirmation = await harness.say(ALICE, "100")
    token = ConfirmOrder.unpack(harness.button_data(ALICE, "Confirm")).token
    assert harness.app is not None
    # The crash: the intent was written, `add` may have gone out, the conversation was not
    # ended. Only the intent's token matters here.
    await write_intent(harness.app.services.orders, token, owner_id=ALICE)
    await harness.restart()

    reply = await harness.press(ALICE, "Confirm", message=confirmation)

    assert reply.text == "This order was already sent."
    assert harness.sim.request_count("add") == 0
    (order,) = await harness.app.services.orders.list_for_owner(ALICE, offset=0, limit=10)
    assert order.placement == "unknown"  # handed to the admins at the restart
