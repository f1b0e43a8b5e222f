"""A broadcast under Telegram's enforced limits, across a restart, and cancelled.

Telegram allows 30 messages a second and 1 a second per chat; at that pace 1,000 people take
over half a minute, so the fake enforces ten times both (300 a second, 10 a chat) and the bot is
set to the same: the ratios, and so the contention between the broadcast and everything else,
stay Telegram's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.simulator import PanelSimulator
from bot.services.broadcast import WINDOW
from tests.bot.harness import ADMIN, ALICE, Harness
from tests.console.people import broadcast, progress_message, progress_says, seed
from tests.fakes.telegram import FakeTelegram

PEOPLE = range(10_000, 11_000)
LIKES = 2  # a service without drip-feed: link, then quantity


def _broadcast_calls(tg: FakeTelegram, text: str) -> list[int]:
    return [
        int(c.params["chat_id"])
        for c in tg.calls_of("sendMessage")
        if c.error_code is None and c.params.get("text") == text
    ]


async def _place_order(harness: Harness) -> int:
    await harness.say(ALICE, f"/search {LIKES}")
    await harness.press(ALICE, f"#{LIKES} ")
    await harness.press(ALICE, "Order")
    await harness.say(ALICE, "https://instagram.com/p/abc")
    await harness.say(ALICE, "100")
    await harness.press(ALICE, "Confirm")
    assert len(harness.sim.orders) == 1
    return next(iter(harness.sim.orders))


@pytest.fixture
async def limited(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, database_url: str
) -> Harness:
    tg.faults.rate_limit(300, 10)
    h = Harness(
        tmp_path,
        sim,
        tg,
        database_url=database_url,
        telegram_messages_per_second=300,
        telegram_chat_interval_seconds=0.1,
    )
    await h.start()
    yield h  # type: ignore[misc]
    await h.stop()


async def test_a_thousand_people_under_the_limits_none_lost_none_twice_orders_first(
    limited: Harness,
) -> None:
    harness, tg = limited, limited.tg
    panel_id = await _place_order(harness)
    await seed(harness, PEOPLE)
    preview = await broadcast(harness, "Big news")
    assert "It goes to 1,002 people" in preview.text  # with Alice and the admin
    tg.clear_calls()  # the admin's preview is not the broadcast
    await harness.press(ADMIN, "Send to them", message=preview)
    await tg.wait_for(lambda: len(_broadcast_calls(tg, "Big news")) >= 100, 20)
    harness.sim.set_order(panel_id, status="Completed")
    await tg.wait_for(
        lambda: (
            "Completed" in harness.last(ALICE).text
            or any("Completed" in m.text for m in tg.transcript(ALICE))
        ),
        20,
    )
    # The order's news overtook the broadcast: most of it was still waiting.
    assert len(_broadcast_calls(tg, "Big news")) < 900

    await tg.wait_for(lambda: progress_says(harness, "Broadcast finished"), 60)
    sent = _broadcast_calls(tg, "Big news")
    assert sorted(sent) == sorted([*PEOPLE, ALICE, ADMIN])  # every one, once
    assert progress_says(harness, "Sent: 1,002 · blocked the bot: 0 · failed: 0 · left: 0"), (
        repr(progress_message(harness).text)  # type: ignore[union-attr]
    )
    refused = [c for c in tg.calls if c.error_code == 429]
    assert refused == []  # the limiter kept the limits: Telegram never had to refuse


async def test_a_restart_in_the_middle_resumes_without_sending_anyone_twice(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, database_url: str
) -> None:
    people = range(20_000, 20_200)
    harness = Harness(tmp_path, sim, tg, database_url=database_url, telegram_messages_per_second=60)
    await harness.start()
    try:
        await seed(harness, people)
        preview = await broadcast(harness, "Restart news")
        tg.clear_calls()
        await harness.press(ADMIN, "Send to them", message=preview)
        await tg.wait_for(lambda: len(_broadcast_calls(tg, "Restart news")) >= 40, 20)
        await harness.stop()
        stopped_at = len(_broadcast_calls(tg, "Restart news"))
        assert stopped_at < len(people)  # it was stopped in the middle
        await harness.start()  # the same database: the broadcast resumes
        await tg.wait_for(lambda: progress_says(harness, "Broadcast finished"), 30)
    finally:
        await harness.stop()
    sent = _broadcast_calls(tg, "Restart news")
    assert len(sent) == len(set(sent))  # nobody twice
    # A stop lets the claimed window be delivered (3 s); a claim it could not decide is never
    # resent (it may have reached Telegram), counted as failed. Nobody else is left out.
    missed = {*people, ADMIN} - set(sent)
    assert len(missed) <= WINDOW
    message = progress_message(harness)
    assert message is not None
    assert f"failed: {len(missed)} · left: 0" in message.text, message.text


async def test_cancel_stops_the_broadcast_and_says_how_far_it_got(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, database_url: str
) -> None:
    people = range(30_000, 30_300)
    harness = Harness(tmp_path, sim, tg, database_url=database_url, telegram_messages_per_second=60)
    await harness.start()
    try:
        await seed(harness, people)
        preview = await broadcast(harness, "Cancelled news")
        tg.clear_calls()
        await harness.press(ADMIN, "Send to them", message=preview)
        await tg.wait_for(lambda: len(_broadcast_calls(tg, "Cancelled news")) >= 20, 20)
        progress = progress_message(harness)
        assert progress is not None
        await harness.press(ADMIN, "Cancel the broadcast", message=progress)
        await tg.wait_for(lambda: progress_says(harness, "Broadcast cancelled"), 20)
        sent = _broadcast_calls(tg, "Cancelled news")
        assert len(sent) < len(people) and len(set(sent)) == len(sent)
        message = progress_message(harness)
        assert message is not None and f"Sent: {len(sent)} " in message.text
        assert message.buttons == []
    finally:
        await harness.stop()
