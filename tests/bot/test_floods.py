"""Floods under Telegram's limits: many people at once, crowds of strangers, 429s.

The fake Bot API enforces the limits (429 with retry_after beyond them), scaled up to 50 or
100 messages a second overall so that the tests stay short; one a second per chat, as Telegram.
Orderings are asserted on the calls the fake recorded, never on durations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.middlewares.people import RecentlyTold
from bot.sandbox.simulator import PanelSimulator
from bot.services.delivery import Outgoing
from tests.bot.harness import ALICE, BOB, Harness, running
from tests.fakes.telegram import FakeTelegram

RATE = 100
PEOPLE = range(1_000, 1_200)
STRANGERS = range(10_000, 10_250)
FLOOD_TIMEOUT = 60.0  # seconds; a few at the limits' pace, the rest is room for a loaded machine


def delivered(tg: FakeTelegram) -> list[int | None]:
    """The chats of the accepted sendMessage calls, in the order Telegram took them."""
    return [c.chat_id for c in tg.calls_of("sendMessage") if c.error_code is None]


async def test_200_people_writing_at_once_all_get_their_answer(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    tg.faults.rate_limit(global_per_second=RATE, per_chat_per_second=1)
    async with running(tmp_path, sim, tg, allowed_user_ids=frozenset(PEOPLE), **limits(RATE)) as h:
        for person in PEOPLE:
            tg.send_text(person, "/help")
        await h.settle(FLOOD_TIMEOUT)

    assert [p for p in PEOPLE if len(tg.sent_messages(p)) != 1] == []
    assert all("What I can do" in tg.sent_messages(p)[0]["text"] for p in PEOPLE)
    assert tg.faults.too_many_requests == 0


def limits(rate: int) -> dict[str, Any]:
    return {"telegram_messages_per_second": rate, "telegram_chat_interval_seconds": 1.0}


async def test_a_crowd_of_strangers_neither_floods_nor_delays_allowed_people(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    rate = 50  # the refusals take 5 s: the allowed person writes while most still wait
    tg.faults.rate_limit(global_per_second=rate, per_chat_per_second=1)
    async with running(tmp_path, sim, tg, **limits(rate)) as h:
        assert h.app is not None
        limiter = h.app.limiter
        for stranger in STRANGERS:
            tg.send_text(stranger, "/start")
        # Every stranger's refusal is sent or waiting: the backlog is there.
        await tg.wait_for(lambda: limiter.waiting + len(delivered(tg)) == len(STRANGERS))
        backlog = limiter.waiting
        tg.send_text(ALICE, "/help")
        await h.settle(FLOOD_TIMEOUT)

        order = delivered(tg)
        # Answered ahead of the refusals still waiting (in arrival order it would be last).
        assert len(order) - 1 - order.index(ALICE) > backlog // 2
        assert "What I can do" in h.last(ALICE).text
        assert [s for s in STRANGERS if order.count(s) != 1] == []
        assert "Your Telegram ID is" in h.last(STRANGERS[-1]).text
        assert tg.faults.too_many_requests == 0

        # Within the hour, a stranger writing again gets nothing, and nothing is sent.
        sent = len(tg.calls_of("sendMessage"))
        for stranger in STRANGERS[:50]:
            tg.send_text(stranger, "/start")
        await h.settle(FLOOD_TIMEOUT)
        assert len(tg.calls_of("sendMessage")) == sent
        assert sim.request_count() == 0


async def test_notifications_wait_behind_answers_and_are_not_lost(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    rate = 50
    tg.faults.rate_limit(global_per_second=rate, per_chat_per_second=1)
    people = PEOPLE[:20]
    notified = range(5_000, 5_150)
    async with running(tmp_path, sim, tg, allowed_user_ids=frozenset(people), **limits(rate)) as h:
        assert h.app is not None
        limiter = h.app.limiter
        for chat in notified:
            await h.app.services.queue.put(Outgoing(chat, f"Order {chat} is completed"))
        await tg.wait_for(lambda: limiter.waiting >= 50)
        parked = limiter.waiting
        before = len(delivered(tg))
        for person in people:
            tg.send_text(person, "/help")
        await h.settle(FLOOD_TIMEOUT)
        await tg.wait_for(
            lambda: h.app is not None and h.app.services.queue.pending == 0, FLOOD_TIMEOUT
        )

    order = delivered(tg)
    last_answer = max(order.index(p) for p in people)
    # In arrival order every notification already waiting would have gone first.
    assert last_answer - before - len(people) < parked
    assert sorted(chat for chat in order if chat in notified) == list(notified)  # each once
    assert [p for p in people if len(tg.sent_messages(p)) != 1] == []
    assert tg.faults.too_many_requests == 0


async def test_an_answer_is_never_dropped_while_telegram_asks_to_wait(harness: Harness) -> None:
    h = harness
    expected = (await h.say(BOB, "/help")).text
    # Five in a row made the old retry give up, and the person heard nothing.
    h.tg.faults.fail_next("sendMessage", retry_after=1, times=5, chat_id=ALICE)

    h.tg.send_text(ALICE, "/help")
    await h.settle(FLOOD_TIMEOUT)

    attempts = [c.error_code for c in h.tg.calls_of("sendMessage") if c.chat_id == ALICE]
    assert attempts == [429, 429, 429, 429, 429, None]
    assert h.texts(ALICE)[-1] == expected


def test_a_stranger_is_refused_again_after_the_interval_and_memory_stays_bounded() -> None:
    now = [0.0]
    told = RecentlyTold(3600, capacity=3, clock=lambda: now[0])

    assert told.first_time(1)
    assert not told.first_time(1)
    now[0] = 3599.0
    assert not told.first_time(1)
    assert told.first_time(2)
    now[0] = 3600.0
    assert told.first_time(1)  # an hour after the first refusal
    assert told.first_time(3)
    # Full: each new one makes the longest told forgotten early (2, then 1).
    assert told.first_time(4)
    assert told.first_time(5)
    assert not any(told.first_time(user) for user in (3, 4, 5))
    assert told.first_time(2)
