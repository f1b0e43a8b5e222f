import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from aiogram import Bot

from bot.services.delivery import DeliveryStats, OutboundQueue, Outgoing
from bot.telegram.sender import make_bot_sender
from tests.fakes.telegram import FakeTelegram

QueueFactory = Callable[..., Awaitable[OutboundQueue]]
BUSY = 1000


def texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [params["text"] for params in fake.sent_messages(chat_id)]


async def test_many_chats_and_a_busy_chat_within_scaled_limits(
    fake: FakeTelegram, make_queue: QueueFactory
) -> None:
    fake.faults.rate_limit(global_per_second=200, per_chat_per_second=20)
    queue = await make_queue(per_second=200, per_chat_interval=0.05)
    notified: list[int] = []

    def mark(chat_id: int) -> Callable[[], Awaitable[None]]:
        async def on_sent() -> None:
            notified.append(chat_id)

        return on_sent

    for i in range(5):
        await queue.put(Outgoing(BUSY, f"busy {i}"))
    for chat_id in range(1, 61):
        await queue.put(Outgoing(chat_id, f"hello {chat_id}", on_sent=mark(chat_id)))
    await asyncio.wait_for(queue.join(), 10)

    assert fake.faults.too_many_requests == 0
    assert texts(fake, BUSY) == [f"busy {i}" for i in range(5)]
    assert all(texts(fake, chat_id) == [f"hello {chat_id}"] for chat_id in range(1, 61))
    assert sorted(notified) == list(range(1, 61))
    assert queue.stats == DeliveryStats(sent=65)
    assert queue.pending == 0


async def test_real_telegram_limits_cause_no_flood_errors(
    fake: FakeTelegram, make_queue: QueueFactory
) -> None:
    fake.faults.rate_limit(global_per_second=30, per_chat_per_second=1)
    queue = await make_queue()  # 30 messages a second, one a second per chat

    for i in range(3):
        await queue.put(Outgoing(BUSY, f"busy {i}"))
    for chat_id in range(1, 36):
        await queue.put(Outgoing(chat_id, "hello"))
    await asyncio.wait_for(queue.join(), 20)

    assert fake.faults.too_many_requests == 0
    assert texts(fake, BUSY) == ["busy 0", "busy 1", "busy 2"]
    assert all(texts(fake, chat_id) == ["hello"] for chat_id in range(1, 36))
    assert queue.stats.sent == 38


async def test_a_busy_chat_does_not_hold_up_the_others(
    fake: FakeTelegram, make_queue: QueueFactory
) -> None:
    queue = await make_queue(per_second=200, per_chat_interval=60)

    for i in range(3):
        await queue.put(Outgoing(BUSY, f"busy {i}"))
    for chat_id in range(1, 11):
        await queue.put(Outgoing(chat_id, "hello"))
    await fake.wait_for(lambda: queue.stats.sent == 11)

    assert texts(fake, BUSY) == ["busy 0"]  # the next one is due in a minute
    assert all(texts(fake, chat_id) == ["hello"] for chat_id in range(1, 11))
    await queue.stop(drain=False)
    assert queue.pending == 2
    with pytest.raises(RuntimeError, match="stopped"):
        await queue.put(Outgoing(1, "too late"))


async def test_flood_control_pauses_the_whole_queue_and_resends_once(
    fake: FakeTelegram, make_queue: QueueFactory
) -> None:
    queue = await make_queue(per_second=200, per_chat_interval=0.01)
    fake.faults.fail_next("sendMessage", retry_after=1, chat_id=5)

    await queue.put(Outgoing(5, "a"))
    await queue.put(Outgoing(5, "b"))
    refused = await fake.wait_for_call("sendMessage", chat_id=5)
    await fake.wait_for(lambda: fake.faults.too_many_requests == 1)
    for chat_id in range(1, 5):
        await queue.put(Outgoing(chat_id, "queued during the pause"))
    await asyncio.wait_for(queue.join(), 10)

    assert refused.error_code == 429
    later = [call for call in fake.calls_of("sendMessage") if call is not refused]
    assert len(later) == 6
    assert all(call.time >= refused.time + 1 for call in later)
    assert texts(fake, 5) == ["a", "b"]
    assert all(texts(fake, chat_id) == ["queued during the pause"] for chat_id in range(1, 5))
    assert queue.stats == DeliveryStats(sent=6)  # the bot's middleware waited the 429 out


async def test_an_unreachable_chat_is_dropped_and_reported_once(
    fake: FakeTelegram, make_queue: QueueFactory
) -> None:
    blocked: list[int] = []
    given_up: list[str] = []

    async def on_blocked(chat_id: int) -> None:
        blocked.append(chat_id)

    def note(text: str) -> Callable[[], Awaitable[None]]:
        async def on_failed() -> None:
            given_up.append(text)

        return on_failed

    queue = await make_queue(per_second=200, per_chat_interval=0.01, on_blocked=on_blocked)
    fake.faults.block_chat(9)

    for i in range(3):
        await queue.put(Outgoing(9, f"to blocked {i}", on_failed=note(f"to blocked {i}")))
    for chat_id in range(1, 6):
        await queue.put(Outgoing(chat_id, "hello"))
    await asyncio.wait_for(queue.join(), 10)
    await queue.put(Outgoing(9, "still blocked", on_failed=note("still blocked")))
    await queue.put(
        Outgoing(9, "dropped", on_failed=note("failed"), on_unreachable=note("unreachable"))
    )

    assert blocked == [9]
    assert given_up == [
        *("to blocked 0", "to blocked 1", "to blocked 2", "still blocked"),
        "unreachable",
    ]
    assert len(fake.calls_of("sendMessage")) == 6  # one attempt for chat 9, then no more
    assert all(texts(fake, chat_id) == ["hello"] for chat_id in range(1, 6))
    assert queue.stats == DeliveryStats(sent=5, blocked=1, dropped=5)

    fake.faults.unblock_chat(9)
    queue.unblock(9)
    await queue.put(Outgoing(9, "welcome back"))
    await asyncio.wait_for(queue.join(), 10)
    assert texts(fake, 9) == ["welcome back"]


async def test_stop_with_drain_delivers_what_is_queued(
    fake: FakeTelegram, make_queue: QueueFactory
) -> None:
    queue = await make_queue(per_second=200, per_chat_interval=0.05)

    for i in range(4):
        await queue.put(Outgoing(BUSY, f"busy {i}"))
    for chat_id in range(1, 6):
        await queue.put(Outgoing(chat_id, "hello"))
    await queue.stop(drain=True)

    assert texts(fake, BUSY) == [f"busy {i}" for i in range(4)]
    assert all(texts(fake, chat_id) == ["hello"] for chat_id in range(1, 6))
    assert queue.pending == 0


async def test_failures_are_retried_or_given_up_without_stopping_the_worker(
    fake: FakeTelegram,
    bot: Bot,
    make_queue: QueueFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deliver = make_bot_sender(bot)
    attempts: Counter[str] = Counter()
    given_up: list[str] = []
    sent: list[str] = []

    async def unreliable_send(message: Outgoing) -> None:
        attempts[message.text] += 1
        if message.text == "flaky" and attempts["flaky"] == 1:
            raise ConnectionResetError("connection reset")
        if message.text == "broken":
            raise ConnectionResetError("always down")
        await deliver(message)

    async def failing_callback() -> None:
        raise RuntimeError("database is locked")

    def note(store: list[str], text: str) -> Callable[[], Awaitable[None]]:
        async def callback() -> None:
            store.append(text)

        return callback

    queue = await make_queue(
        send=unreliable_send,
        per_second=200,
        per_chat_interval=0.01,
        max_attempts=3,
        retry_backoff=0.01,
    )
    fake.faults.fail_next("sendMessage", error_code=500, chat_id=2)

    with caplog.at_level(logging.WARNING, logger="bot.services.delivery"):
        await queue.put(Outgoing(1, "flaky", on_sent=failing_callback))
        await queue.put(Outgoing(1, "broken", on_failed=note(given_up, "broken")))
        await queue.put(Outgoing(1, "after", on_sent=note(sent, "after")))
        await queue.put(Outgoing(2, "rejected by Telegram", on_failed=note(given_up, "rejected")))
        await asyncio.wait_for(queue.join(), 10)

    assert texts(fake, 1) == ["flaky", "after"]
    assert attempts == {"flaky": 2, "broken": 3, "after": 1, "rejected by Telegram": 1}
    assert len(fake.calls_of("sendMessage")) == 3  # a 5xx send is never repeated
    assert sorted(given_up) == ["broken", "rejected"]
    assert sent == ["after"]
    assert queue.stats == DeliveryStats(sent=2, retried=3, failed=2)
    assert "on_sent callback failed for chat 1" in caplog.text
    assert bot.token not in caplog.text
