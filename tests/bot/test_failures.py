"""When the panel or Telegram fails: one clear sentence, nothing leaked, and the bot goes on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ALICE, BOB, NO_TRACKING, SHARED_KEY, Harness, running
from tests.fakes.telegram import FakeTelegram

LINK = "https://instagram.com/p/abc"
DOWN = "The panel is not answering right now. Please try again in a minute."
APOLOGY = "Something went wrong on our side. Please try again, or send /cancel to start over."

# One retry, quickly: a read fails for the person after two failed attempts.
FAST_RETRIES = {
    **NO_TRACKING,
    "panel_read_retries": 1,
    "panel_retry_backoff_seconds": 0.01,
    "panel_timeout_seconds": 0.3,
}
ATTEMPTS = 2


@pytest.fixture
async def harness(tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram) -> AsyncIterator[Harness]:
    async with running(tmp_path, sim, tg, **FAST_RETRIES) as started:
        yield started


def assert_nothing_leaked(harness: Harness) -> None:
    sent = harness.recorded_text()
    assert SHARED_KEY not in sent
    for raw in ("<html", "Traceback", "Notice: Undefined", "Exception", "HTTP 5", "api/v2"):
        assert raw not in sent, raw


@pytest.mark.parametrize("fault", ["html_500", "hang", "garbage", "html_200", "empty", "reset"])
async def test_panel_down_on_new_balance_and_refresh(harness: Harness, fault: str) -> None:
    sim = harness.sim
    sim.fail_next(fault, times=ATTEMPTS, action="services")
    assert (await harness.say(ALICE, "/new")).text == DOWN
    sim.fail_next(fault, times=ATTEMPTS, action="balance")
    assert (await harness.say(ALICE, "/balance")).text == DOWN

    assert (await harness.say(ALICE, "/new")).text.startswith("Choose a category")  # goes on
    await harness.start_order(ALICE, 4)
    await harness.say(ALICE, LINK)
    placed = await harness.press(ALICE, "Confirm")
    card = await harness.press(ALICE, "Order card", message=placed)
    before = card.text
    sim.set_order(1000, status="Completed")
    sim.fail_next(fault, times=ATTEMPTS, action="status")

    reply = await harness.press(ALICE, "Refresh")

    assert reply.text == DOWN
    assert harness.tg.message(ALICE, card.message_id).text == before  # the card is untouched
    assert (await harness.say(ALICE, "/balance")).text == "Balance: 92 USD"
    assert_nothing_leaked(harness)


async def test_the_confirmation_does_not_wait_on_a_hanging_panel_for_the_balance(
    harness: Harness,
) -> None:
    await harness.start_order(ALICE, 4)
    harness.sim.reset_requests()
    harness.sim.fail_next("hang", times=1, action="balance")

    reply = await harness.say(ALICE, LINK)

    assert reply.text.startswith("Please check your order")
    # The balance (and with it the currency) is a courtesy, left out rather than waited for.
    assert reply.text.endswith("\n\nPrice: 8")
    assert harness.sim.request_count("balance") == 1
    placed = await harness.press(ALICE, "Confirm")
    assert placed.text.startswith("✅ Placed")


async def test_a_stop_waits_for_the_error_message_of_a_failing_handler(
    harness: Harness,
) -> None:
    harness.sim.fail_next("hang", times=ATTEMPTS, action="balance")
    harness.tg.send_text(ALICE, "/balance")
    await harness.sim.wait_for_requests(1, "balance")
    harness.tg.faults.latency = 0.5  # the error message takes a while to be sent

    await harness.stop()  # the handler fails only after this began

    assert harness.tg.last_message(ALICE) is not None
    assert harness.tg.last_message(ALICE).text == DOWN  # type: ignore[union-attr]


async def test_a_failure_within_the_retries_is_not_noticed(harness: Harness) -> None:
    harness.sim.fail_next("html_500", times=ATTEMPTS - 1, action="balance")
    assert (await harness.say(ALICE, "/balance")).text == "Balance: 100 USD"
    assert harness.sim.request_count("balance") == ATTEMPTS


async def test_an_old_catalogue_is_shown_while_the_panel_is_down(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with running(tmp_path, sim, tg, **FAST_RETRIES, catalog_ttl_seconds=0) as harness:
        await harness.say(ALICE, "/new")
        sim.fail_next("html_500", times=ATTEMPTS, action="services")
        reply = await harness.say(BOB, "/new")
        assert reply.text == "Choose a category (60 services):"
        assert sim.request_count("services") == 1 + ATTEMPTS


async def test_the_panels_own_error_on_balance_is_shown(harness: Harness) -> None:
    harness.sim.fail_next("error", action="balance", message="API is disabled for this account")
    reply = await harness.say(ALICE, "/balance")
    assert reply.text == "The panel answered: API is disabled for this account"
    assert harness.sim.request_count("balance") == 1  # a refusal is not retried


async def test_a_refused_shared_key_sends_people_to_the_operator(harness: Harness) -> None:
    harness.sim.fail_next("error", action="balance", message="Invalid API key.")
    reply = await harness.say(ALICE, "/balance")
    assert reply.text == "The panel does not accept the bot's API key. Please tell the operator."
    assert "/connect" not in reply.text


async def test_a_429_from_telegram_still_delivers_the_reply_once(harness: Harness) -> None:
    harness.tg.faults.fail_next("sendMessage", error_code=429, retry_after=1)
    reply = await harness.say(ALICE, "/balance")
    assert reply.text == "Balance: 100 USD"
    assert harness.tg.faults.too_many_requests == 1
    assert [m["text"] for m in harness.tg.sent_messages(ALICE)] == ["Balance: 100 USD"]


async def test_a_person_who_blocked_the_bot_is_marked_and_others_are_served(
    harness: Harness,
) -> None:
    assert harness.app is not None
    await harness.say(ALICE, "/start")
    harness.tg.faults.block_chat(ALICE)
    harness.tg.send_text(ALICE, "/balance")
    await harness.settle()
    person = await harness.app.services.users.get(ALICE)
    assert person is not None and person.blocked

    assert (await harness.say(BOB, "/balance")).text == "Balance: 100 USD"

    harness.tg.faults.unblock_chat(ALICE)
    assert (await harness.say(ALICE, "/balance")).text == "Balance: 100 USD"
    person = await harness.app.services.users.get(ALICE)
    assert person is not None and not person.blocked


async def test_a_flood_of_presses_is_throttled_for_that_person_only(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    settings = {**NO_TRACKING, "throttle_updates_per_second": 0.01, "throttle_burst": 4}
    async with running(tmp_path, sim, tg, **settings) as harness:
        categories = await harness.say(ALICE, "/new")  # one of the four
        presses = [harness.tap(ALICE, "YouTube (16)", message=categories) for _ in range(8)]
        await harness.settle()

        answers = [harness.answer_of(query) for query in presses]
        assert answers[:3] == ["", "", ""]
        assert answers[3:] == ["Too fast, please wait a moment."] * 5
        assert (await harness.say(BOB, "/balance")).text == "Balance: 100 USD"
        assert sim.request_count("services") == 1


async def test_an_unexpected_failure_gets_an_apology_and_the_bot_goes_on(
    harness: Harness,
) -> None:
    # Telegram refuses the reply: the handler fails in a way nobody planned for.
    harness.tg.faults.fail_next(
        "sendMessage", error_code=400, description="Bad Request: can't parse entities", times=1
    )
    reply = await harness.say(ALICE, "/balance")
    assert reply.text == APOLOGY
    assert_nothing_leaked(harness)
    assert (await harness.say(ALICE, "/balance")).text == "Balance: 100 USD"


async def test_an_unreadable_order_form_is_dropped_with_a_word(harness: Harness) -> None:
    # As left by an older version of the bot, or a damaged database.
    assert harness.app is not None
    key = StorageKey(bot_id=harness.app.bot.id, chat_id=ALICE, user_id=ALICE)
    storage = harness.app.dp.storage
    await storage.set_state(key, "OrderWizard:answering")
    await storage.set_data(key, {"service": {"service": "not a number"}, "answers": {}})

    reply = await harness.say(ALICE, LINK)

    assert reply.text == "This order form has expired. Start again with /new."
    assert await storage.get_state(key) is None
    assert_nothing_leaked(harness)
    assert (await harness.say(ALICE, "/new")).text.startswith("Choose a category")


async def test_notifications_resume_when_a_person_who_blocked_the_bot_comes_back(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with running(tmp_path, sim, tg, poll_interval_seconds=0.05) as harness:
        assert harness.app is not None
        await harness.start_order(ALICE, 4)
        await harness.say(ALICE, LINK)
        await harness.press(ALICE, "Confirm")
        tg.faults.block_chat(ALICE)
        sim.set_order(1000, status="In progress")
        await tg.wait_for(
            lambda: harness.app is not None and harness.app.services.queue.stats.blocked, 10
        )
        person = await harness.app.services.users.get(ALICE)
        assert person is not None and person.blocked

        tg.faults.unblock_chat(ALICE)
        assert (await harness.say(ALICE, "/balance")).text.startswith("Balance:")
        sim.set_order(1000, status="Completed")

        await tg.wait_for(lambda: any("Completed" in t for t in harness.texts(ALICE)), 10)
        news = [t for t in harness.texts(ALICE) if t.startswith("🔔")]
        assert len(news) == 1 and "Completed" in news[0], news


async def test_a_failure_after_the_order_was_sent_never_says_try_again(
    harness: Harness,
) -> None:
    await harness.start_order(ALICE, 4)
    await harness.say(ALICE, LINK)
    # Telegram fails the "Placed" message: the order is on the panel all the same.
    harness.tg.faults.fail_next("sendMessage", error_code=500, description="Internal Server Error")
    await harness.press(ALICE, "Confirm")

    assert len(harness.sim.orders) == 1
    told = harness.last(ALICE).text
    assert told == (
        "Something went wrong after your order was sent. Do not order it again: "
        "see /orders for what became of it."
    )
    listing = await harness.say(ALICE, "/orders")
    assert [b for b in listing.buttons if f"#{next(iter(harness.sim.orders))}" in b["text"]]


async def test_stopping_and_restarting_the_bot_in_telegram(harness: Harness) -> None:
    assert harness.app is not None
    await harness.say(ALICE, "/start")

    harness.tg.stop_bot(ALICE)
    await harness.settle()
    person = await harness.app.services.users.get(ALICE)
    assert person is not None and person.blocked
    assert harness.app.services.queue.stats.blocked == 0  # known without a failed send

    harness.tg.restart_bot(ALICE)
    await harness.settle()
    person = await harness.app.services.users.get(ALICE)
    assert person is not None and not person.blocked
    assert (await harness.say(ALICE, "/balance")).text == "Balance: 100 USD"
