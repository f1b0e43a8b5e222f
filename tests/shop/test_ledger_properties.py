"""Property tests of the ledger: no sequence of events creates or loses a cent."""

from __future__ import annotations

import asyncio

from hypothesis import example, given, settings

from tests.shop.ledger_scenarios import EVERY_PATH, Op, play, scenarios
from tests.shop.memory_ledger import MemoryWorld


@settings(max_examples=300, deadline=None)
@given(scenarios)
@example(EVERY_PATH)
def test_the_model_ledger_keeps_every_cent(scenario: list[Op]) -> None:
    asyncio.run(play(MemoryWorld(), scenario))
