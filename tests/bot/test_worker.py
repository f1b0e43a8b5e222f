"""One worker per database: a second one waits, says so once, and takes over when the first
stops or dies; `python -m bot migrate` and `python -m bot worker` as real processes."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.sandbox.simulator import PanelSimulator
from bot.storage import Database, LeaseRepository
from bot.worker import LEASE_NAME
from tests.bot.harness import ALICE, Harness
from tests.bot.test_orders import place
from tests.fakes.telegram import FakeTelegram

WAITING = "another worker holds the database"


async def second_worker(harness: Harness, tg: FakeTelegram) -> tuple[BotApp, asyncio.Task[None]]:
    """A worker-only process of the same bot on the same database, started."""
    app = BotApp(harness.settings(), bot_session=tg.create_session(), front=False, worker=True)
    await app.open()
    return app, asyncio.create_task(app.run(handle_signals=False))


async def test_a_second_worker_waits_then_takes_over_when_the_first_stops(
    harness: Harness, sim: PanelSimulator, tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    await place(harness)
    [order] = sim.orders.values()
    assert harness.app is not None and harness.app.worker is not None
    await harness.app.worker.wait_holding()
    caplog.set_level(logging.INFO, logger="bot.worker")
    app, task = await second_worker(harness, tg)
    try:
        await tg.wait_for(lambda: WAITING in caplog.text, 10)
        assert app.worker is not None and not app.worker.holding

        await harness.stop()  # releases the lease
        async with asyncio.timeout(10):
            await app.worker.wait_holding()
        # The second worker tracks: the order's news reaches the person.
        sim.complete_order(order.id)
        await tg.wait_for(lambda: "Completed" in tg.last_message(ALICE).text, 10)  # type: ignore[union-attr]
        assert caplog.text.count(WAITING) == 1
    finally:
        await app.stop()
        await task


async def test_a_worker_takes_over_the_lease_of_one_that_died(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, database_url: str
) -> None:
    harness = Harness(tmp_path, sim, tg, database_url=database_url, worker_lease_seconds=1.0)
    # A worker that died holding the lease: its lease runs out, nobody releases it.
    async with await Database.open(database_url) as db:
        assert await LeaseRepository(db).acquire(LEASE_NAME, "dead-host:1", 1.0, time.time())
    await harness.start()
    try:
        assert harness.app is not None and harness.app.worker is not None
        assert not harness.app.worker.holding
        async with asyncio.timeout(10):
            await harness.app.worker.wait_holding()
        async with await Database.open(database_url) as db:
            holder = await LeaseRepository(db).holder(LEASE_NAME, time.time())
        assert holder == harness.app.worker.holder
    finally:
        await harness.stop()


def run_cli(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    """The exit status and what the command printed on stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout


def test_migrate_brings_a_new_database_to_the_newest_schema(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": "123:abc",
        "PANEL_URL": "http://127.0.0.1:9/api/v2",
        "PANEL_KEY": "k",
        "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"),
    }
    code, out = run_cli(tmp_path, env, "migrate")
    assert code == 0, out
    assert out.startswith("database schema at revision ")
    assert (tmp_path / "data" / "bot.sqlite3").is_file()
    again, out_again = run_cli(tmp_path, env, "migrate")
    assert again == 0
    assert out_again == out  # nothing left to do: the same revision
