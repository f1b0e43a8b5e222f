"""End to end: what a person meets when the panel is hostile or hangs, and forged buttons."""

from __future__ import annotations

import logging

import pytest

from tests.bot.harness import ALICE, Harness

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
