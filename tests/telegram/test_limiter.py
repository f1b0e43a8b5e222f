"""The one send limiter, through a real bot and its request middleware against the fake Bot API."""

import asyncio
import itertools
from collections.abc import Callable

import pytest
from aiogram import Bot

from bot.services.delivery import Priority
from bot.telegram.limiter import SendLimiter, sending_at
from bot.telegram.retry import FloodControlMiddleware
from tests.fakes.telegram import FakeTelegram

BotFactory = Callable[..., Bot]


def sent_texts(fake: FakeTelegram) -> list[str]:
    return [str(c.params["text"]) for c in fake.calls_of("sendMessage") if c.error_code is None]


async def test_waiting_answers_go_before_notifications_before_bulk(
    fake: FakeTelegram, make_bot: BotFactory
) -> None:
    fake.faults.rate_limit(global_per_second=20, per_chat_per_second=1)
    bot = make_bot(FloodControlMiddleware(SendLimiter(20, 1.0)))
    calls = []
    # Created in one go: the first bulk send takes the free slot, the rest wait together.
    for priority, name, count in (
        (Priority.BULK, "bulk", 10),
        (Priority.NOTIFICATION, "notification", 3),
        (Priority.ANSWER, "answer", 3),
    ):
        with sending_at(priority):
            calls += [
                asyncio.create_task(bot.send_message(len(calls) + n, f"{name} {n}"))
                for n in range(count)
            ]
    await asyncio.gather(*calls)

    assert sent_texts(fake) == [
        "bulk 0",
        *(f"answer {n}" for n in range(3)),
        *(f"notification {n}" for n in range(3)),
        *(f"bulk {n}" for n in range(1, 10)),
    ]
    assert fake.faults.too_many_requests == 0


async def test_one_chat_gets_one_message_per_interval_others_are_not_held_up(
    fake: FakeTelegram, make_bot: BotFactory
) -> None:
    fake.faults.rate_limit(global_per_second=100, per_chat_per_second=5)
    bot = make_bot(FloodControlMiddleware(SendLimiter(100, 0.2)))

    busy = [asyncio.create_task(bot.send_message(1, f"busy {n}")) for n in range(3)]
    others = [asyncio.create_task(bot.send_message(chat, "hello")) for chat in range(2, 12)]
    await asyncio.gather(*busy, *others)

    to_busy = [c for c in fake.calls_of("sendMessage") if c.chat_id == 1]
    assert [c.params["text"] for c in to_busy] == ["busy 0", "busy 1", "busy 2"]
    assert all(later.time - earlier.time >= 0.2 for earlier, later in itertools.pairwise(to_busy))
    # Every other chat was served while the busy chat waited for its interval.
    assert sent_texts(fake).index("busy 1") > max(
        n for n, text in enumerate(sent_texts(fake)) if text == "hello"
    )
    assert fake.faults.too_many_requests == 0


async def test_edits_and_callback_answers_do_not_wait_for_the_chat(
    fake: FakeTelegram, make_bot: BotFactory
) -> None:
    limiter = SendLimiter(100, 3600)  # a second message to the chat would wait an hour
    bot = make_bot(FloodControlMiddleware(limiter))

    shown = await bot.send_message(1, "menu")
    await bot.edit_message_text("menu, page 2", chat_id=1, message_id=shown.message_id)
    await bot.delete_message(1, shown.message_id)
    waiting = asyncio.create_task(bot.send_message(1, "an hour later"))
    await fake.wait_for(lambda: limiter.waiting == 1)

    assert [c.method for c in fake.calls] == ["sendMessage", "editMessageText", "deleteMessage"]
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert limiter.waiting == 0  # a cancelled call leaves no waiter behind


async def test_a_429_slows_the_whole_bot_down(fake: FakeTelegram, make_bot: BotFactory) -> None:
    limiter = SendLimiter(100, 0, slowdown=0.5, recovery_seconds=3600)
    bot = make_bot(FloodControlMiddleware(limiter))
    fake.faults.fail_next("sendMessage", retry_after=1, chat_id=1)

    await asyncio.gather(*(bot.send_message(chat, "hello") for chat in range(1, 6)))

    assert limiter.rate < 51  # halved, and climbing back over an hour
    assert limiter.floods == 1
    assert sorted(c.chat_id for c in fake.calls_of("sendMessage") if c.error_code is None) == [
        1,
        2,
        3,
        4,
        5,
    ]


async def test_a_burst_of_429s_slows_down_once(fake: FakeTelegram, make_bot: BotFactory) -> None:
    limiter = SendLimiter(100, 0, slowdown=0.5, recovery_seconds=3600)
    bot = make_bot(FloodControlMiddleware(limiter))
    fake.faults.latency = 0.05  # so that the three are in flight together
    fake.faults.fail_next("sendMessage", retry_after=1, times=3)

    await asyncio.gather(*(bot.send_message(chat, "hello") for chat in range(1, 4)))

    assert limiter.floods == 3
    assert 50 <= limiter.rate < 51  # one cut for the pause, not three
