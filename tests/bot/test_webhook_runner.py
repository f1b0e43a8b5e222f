"""Webhook mode: Telegram POSTs updates with the secret token; the bot answers after handling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ALICE, BOB, WEBHOOK_SECRET, Harness
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def harness(tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, sim, tg, runner="webhook")
    await h.start()
    yield h
    await h.stop()


def update(update_id: int, user: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "from": {"id": user, "is_bot": False, "first_name": "Eve"},
            "chat": {"id": user, "type": "private", "first_name": "Eve"},
            "date": 1_700_000_000,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=json.dumps(body), headers=headers) as response,
    ):
        return response.status


async def test_the_bot_sets_its_webhook_with_the_secret_and_its_update_types(
    harness: Harness,
) -> None:
    [call] = harness.tg.calls_of("setWebhook")
    settings = harness.settings()
    assert call.params["url"] == settings.webhook_url
    assert call.params["secret_token"] == WEBHOOK_SECRET
    allowed = call.params["allowed_updates"]
    allowed = json.loads(allowed) if isinstance(allowed, str) else allowed
    assert {"message", "callback_query", "my_chat_member"} <= set(allowed)
    assert not harness.tg.calls_of("getUpdates")


async def test_a_request_without_the_right_secret_gets_401_and_nothing_is_handled(
    harness: Harness,
) -> None:
    url = harness.settings().webhook_url
    assert url is not None
    wrong = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET[:-1] + "x"}
    for headers in ({}, wrong, {"X-Telegram-Bot-Api-Secret-Token": ""}):
        assert await post(url, update(9001, ALICE, "/help"), headers) == 401
    right = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    assert await post(url, {"not": "an update"}, right) == 400
    assert harness.tg.calls_of("sendMessage") == []
    # The right secret is served: the same update now gets its answer.
    assert await post(url, update(9002, ALICE, "/help"), right) == 200
    assert "/new" in harness.last(ALICE).text


async def test_an_update_in_flight_at_stop_is_finished_and_the_webhook_kept(
    harness: Harness, sim: PanelSimulator
) -> None:
    # The balance request hangs until the client's timeout; the retry answers.
    sim.fail_next("hang", action="balance")
    harness.tg.send_text(BOB, "/balance")
    await sim.wait_for_requests(1, "balance")
    await harness.stop()
    assert "Balance: 100" in harness.last(BOB).text
    async with asyncio.timeout(5):
        await harness.tg.webhook.wait_delivered()
    # Another instance may still serve the webhook: stopping never deletes it.
    assert harness.tg.calls_of("deleteWebhook") == []
    assert harness.tg.webhook.active
