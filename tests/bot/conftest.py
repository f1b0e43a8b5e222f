"""Fixtures of the end-to-end tests; the harness itself is in harness.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import NO_TRACKING, SHARED_KEY, SHOP, Harness, running
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def sim() -> AsyncIterator[PanelSimulator]:
    simulator = PanelSimulator(keys={SHARED_KEY: Decimal("100")})
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def harness(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, database_url: str
) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, sim, tg, database_url=database_url)
    await h.start()
    yield h
    await h.stop()


@pytest.fixture
async def own_key_harness(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, database_url: str
) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, sim, tg, database_url=database_url, panel_key=None)
    await h.start()
    yield h
    await h.stop()


@pytest.fixture
async def quiet_harness(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> AsyncIterator[Harness]:
    """A started Harness whose tracker stays quiet: screens without notifications between."""
    async with running(tmp_path, sim, tg, **NO_TRACKING) as started:
        yield started


@pytest.fixture
def shop_settings() -> dict[str, Any]:
    """The settings of `shop`: a test module defines a fixture of this name to change them."""
    return SHOP


@pytest.fixture
async def shop(
    tmp_path: Path,
    sim: PanelSimulator,
    tg: FakeTelegram,
    database_url: str,
    shop_settings: dict[str, Any],
) -> AsyncIterator[Harness]:
    """A started bot in shop mode, on SQLite and on PostgreSQL when TEST_DATABASE_URL is set."""
    async with running(tmp_path, sim, tg, database_url=database_url, **shop_settings) as h:
        yield h
