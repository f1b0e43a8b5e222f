"""Two webhook front ends in one process on one database and one Redis, updates delivered to
them in turn as a load balancer would: one conversation, one flood budget, one order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.simulator import PanelSimulator
from bot.shared.connection import SharedRedis
from tests.bot.harness import ALICE, NO_TRACKING, STRANGER, Harness
from tests.fakes.telegram import FakeTelegram
from tests.instances.conftest import REDIS_URL

BALANCER = "http://127.0.0.1:9/telegram"  # the address Telegram knows; nothing listens there
LINK = "https://instagram.com/p/abc"


@pytest.fixture
async def fronts(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, shared: SharedRedis
) -> AsyncIterator[tuple[Harness, Harness]]:
    common = {
        "runner": "webhook",
        "webhook_url": BALANCER,
        "redis_url": REDIS_URL,
        "redis_prefix": shared.prefix,
        **NO_TRACKING,
    }
    first = Harness(tmp_path, sim, tg, **common)
    second = Harness(tmp_path, sim, tg, **common, run_worker=False)
    await first.start()
    try:
        await second.start()
        try:
            # The second finds the webhook set by the first: its server is listening by then.
            await tg.wait_for(lambda: len(tg.calls_of("getWebhookInfo")) == 2, 10)
            ports = [h.settings().webhook_port for h in (first, second)]
            tg.webhook.route_to([f"http://127.0.0.1:{port}/telegram" for port in ports])
            yield first, second
        finally:
            await second.stop()
    finally:
        await first.stop()


async def test_an_order_walked_across_two_front_ends_is_placed_once(
    fronts: tuple[Harness, Harness], shared: SharedRedis
) -> None:
    h, _second = fronts
    # Only one front end set the webhook; the other found it set.
    assert len(h.tg.calls_of("setWebhook")) == 1

    await h.start_order(ALICE, 2)
    await h.say(ALICE, LINK)
    # The conversation lives in Redis, forgotten after a week without a step.
    state_keys = [key async for key in shared.client.scan_iter(match=f"{shared.prefix}:fsm:*")]
    assert state_keys
    for key in state_keys:
        assert 0 < await shared.client.ttl(key) <= 7 * 24 * 3600
    confirmation = await h.say(ALICE, "100")
    assert "Please check your order" in confirmation.text

    # Two presses at once, one on each front end.
    first = h.tap(ALICE, "Confirm", message=confirmation)
    second = h.tap(ALICE, "Confirm", message=confirmation)
    await h.settle()

    assert len(h.sim.orders) == 1
    placed = [t for t in h.texts(ALICE) if t.startswith("✅ Placed")]
    assert len(placed) == 1
    answers = sorted([h.answer_of(first), h.answer_of(second)])
    assert answers == ["Checking the price…", "This order was already sent."]


async def test_a_stranger_writing_to_both_front_ends_is_refused_once(
    fronts: tuple[Harness, Harness],
) -> None:
    h, _second = fronts
    h.tg.send_text(STRANGER, "hello")
    h.tg.send_text(STRANGER, "hello?")
    await h.settle()

    refusals = [m for m in h.texts(STRANGER) if "Your Telegram ID" in m]
    assert len(refusals) == 1
