"""End to end: what a person meets when the panel is hostile or hangs, and forged buttons."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ALICE, Harness, running
from tests.fakes.telegram import FakeTelegram
from tests.panel.hostile import HostilePanel, serving

BEYOND_64_BITS = str(2**64 + 5)


@pytest.mark.parametrize(
    "data",
    [f"oa:card:{BEYOND_64_BITS}", f"oa:refill:-{BEYOND_64_BITS}", f"sc:{BEYOND_64_BITS}:-1:0",
     f"cp:{BEYOND_64_BITS}:0", f"cl:{BEYOND_64_BITS}", f"so:{BEYOND_64_BITS}",
     f"ol:{BEYOND_64_BITS}"],
)  # fmt: skip
async def test_a_forged_button_beyond_64_bits_is_a_stale_button(
    harness: Harness, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    await h.say(ALICE, "/start")
    h.sim.reset_requests()
    caplog.set_level(logging.ERROR)
    query = h.forge_press(ALICE, data)
    await h.settle()
    assert h.answer_of(query) == "This button no longer works. Send /start."
    assert not caplog.records  # no traceback
    assert h.sim.request_count() == 0


# --- a hanging panel ----------------------------------------------------------------------------

NOTICE = "Still waiting for the panel…"
NOT_ANSWERING = "The panel is not answering right now. Please try again in a minute."
CATALOGUE = json.dumps(
    [{"service": 1, "name": "Followers", "type": "Default", "category": "Instagram",
      "rate": "0.9", "min": 10, "max": 1000}]
)  # fmt: skip


@pytest.fixture
async def hostile() -> AsyncIterator[HostilePanel]:
    async with serving() as panel:
        yield panel


def hanging_bot(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, hostile: HostilePanel, **extra: Any
) -> contextlib.AbstractAsyncContextManager[Harness]:
    # Each request may wait 30 s, and three retries follow: only the deadline ends it sooner.
    settings: dict[str, Any] = {
        "panel_url": hostile.url,
        "panel_timeout_seconds": 30,
        "panel_interactive_deadline_seconds": 1.0,
        **extra,
    }
    return running(tmp_path, sim, tg, **settings)


def notices(h: Harness) -> tuple[int, bool]:
    """How many notices Alice was sent, and whether one is still in her chat."""
    sent = sum(1 for params in h.tg.sent_messages(ALICE) if params.get("text") == NOTICE)
    return sent, NOTICE in h.texts(ALICE)


@pytest.mark.parametrize(("command", "action"), [("/balance", "balance"), ("/new", "services")])
async def test_a_hanging_panel_gets_a_notice_then_an_answer_by_the_deadline(
    tmp_path: Path,
    sim: PanelSimulator,
    tg: FakeTelegram,
    hostile: HostilePanel,
    command: str,
    action: str,
) -> None:
    hostile.hang(action)
    async with hanging_bot(tmp_path, sim, tg, hostile) as h:
        reply = await h.say(ALICE, command)
        assert reply.text == NOT_ANSWERING
        # The person was told it is slow, and the notice went away with the answer.
        assert notices(h) == (1, False)
        assert h.texts(ALICE) == [NOT_ANSWERING]


async def test_a_slow_answer_replaces_the_notice(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, hostile: HostilePanel
) -> None:
    hostile.answer("balance", '{"balance": "12.5", "currency": "EUR"}')
    hostile.hang("balance")
    async with hanging_bot(tmp_path, sim, tg, hostile, panel_interactive_deadline_seconds=30) as h:
        h.tg.send_text(ALICE, "/balance")
        await h.tg.wait_for(lambda: NOTICE in h.texts(ALICE), timeout=20)
        hostile.release()  # the panel answers at last
        await h.settle()
        (answer,) = h.texts(ALICE)
        assert answer.startswith("Balance:") and "12.5" in answer
        assert notices(h) == (1, False)


async def test_a_button_waiting_on_a_hanging_panel_gets_the_notice(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, hostile: HostilePanel
) -> None:
    hostile.answer("services", CATALOGUE)
    async with hanging_bot(tmp_path, sim, tg, hostile, catalog_ttl_seconds=0) as h:
        await h.say(ALICE, "/new")
        hostile.hang("services")
        screen = await h.press(ALICE, "Instagram")
        # The catalogue read last is shown rather than none, once the deadline has passed.
        assert "Followers" in str(screen.buttons)
        assert notices(h) == (1, False)


# --- a broken answer ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [("[" * 100_000 + "]" * 100_000, "nested too deeply"),
     ('{"balance": ' + "[" * 50 + "]" * 50 + "}", "nested too deeply"),
     ("", "larger than 1 MB")],
    ids=["recursion", "nested", "flood"],
)  # fmt: skip
async def test_a_broken_answer_is_the_panel_not_answering_logged_once(
    tmp_path: Path,
    sim: PanelSimulator,
    tg: FakeTelegram,
    hostile: HostilePanel,
    body: str,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if body:
        hostile.answer("balance", body)
    else:
        hostile.flood("balance", b'{"balance": "', 300 * 2**20)
    caplog.set_level(logging.WARNING)
    async with running(tmp_path, sim, tg, panel_url=hostile.url) as h:
        assert (await h.say(ALICE, "/balance")).text == NOT_ANSWERING
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert len([r for r in caplog.records if reason in r.getMessage()]) == 1
