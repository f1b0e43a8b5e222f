"""`python -m bot` as a real process: it serves, stops cleanly on a signal, and resumes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ADMIN, ALICE, BOB, SHARED_KEY, Harness
from tests.fakes.telegram import FakeTelegram

START_TIMEOUT = 30.0  # importing aiogram alone takes seconds on a busy machine
EXIT_TIMEOUT = 10.0


class BotProcess:
    """One `python -m bot` child speaking to the fake Telegram and the simulator of this test."""

    def __init__(self, tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram) -> None:
        self.tmp_path = tmp_path
        self.tg = tg
        self.log = tmp_path / "bot.log"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "BOT_TOKEN": tg.token,
            "TELEGRAM_API_URL": tg.base_url,
            "PANEL_URL": sim.url,
            "PANEL_KEY": SHARED_KEY,
            "ALLOWED_USER_IDS": f"{ALICE},{BOB}",
            "ADMIN_IDS": str(ADMIN),
            "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"),
            "PANEL_TIMEOUT_SECONDS": "1",
            "LOG_LEVEL": "INFO",
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        polls = len(self.tg.calls_of("getUpdates"))
        with self.log.open("a") as log:
            # cwd=tmp_path: no .env of the developer's is read.
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=self.env, cwd=self.tmp_path, stdout=log, stderr=log
            )
        await self.tg.wait_for(
            lambda: len(self.tg.calls_of("getUpdates")) > polls or self.exited, START_TIMEOUT
        )
        assert not self.exited, self.log.read_text()

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    async def stop(self, sig: signal.Signals) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), EXIT_TIMEOUT)

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@pytest.fixture
async def bot_process(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> AsyncIterator[BotProcess]:
    process = BotProcess(tmp_path, sim, tg)
    yield process
    await process.kill()


async def say(tg: FakeTelegram, user: int, text: str, expect: Callable[[str], bool]) -> str:
    """Write as `user` and wait for a bot message satisfying `expect` (the process is slower)."""
    before = len(tg.transcript(user))
    tg.send_text(user, text)
    await tg.wait_for(lambda: any(expect(m.text) for m in tg.transcript(user)[before:]), timeout=10)
    await tg.wait_idle()
    message = tg.last_message(user)
    assert message is not None
    return message.text


async def press(tg: FakeTelegram, user: int, label: str, expect: Callable[[str], bool]) -> str:
    message = tg.last_message(user)
    assert message is not None
    tg.press(user, message.message_id, message.button(label)["callback_data"])
    await tg.wait_for(lambda: expect(tg.last_message(user).text), timeout=10)  # type: ignore[union-attr]
    await tg.wait_idle()
    return tg.last_message(user).text  # type: ignore[union-attr]


async def wait_for_line(bot_process: BotProcess, text: str) -> None:
    """Wait until the process logs `text` (or exits). A log file has no event to await: it is
    read again every 50 ms, up to START_TIMEOUT."""
    async with asyncio.timeout(START_TIMEOUT):
        while text not in bot_process.log.read_text() and not bot_process.exited:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def assert_clean_log(bot_process: BotProcess) -> None:
    text = bot_process.log.read_text()
    assert "Traceback" not in text
    assert bot_process.tg.token not in text
    assert SHARED_KEY not in text


async def test_serves_stops_on_signals_letting_handlers_finish_and_resumes(
    bot_process: BotProcess, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    # One scenario with two runs: each start of the process costs seconds (importing aiogram).
    await bot_process.start()
    assert "Hello" in await say(tg, ALICE, "/start", lambda t: "Hello" in t)
    await say(tg, ALICE, "/search 4", lambda t: "Found" in t)
    await press(tg, ALICE, "Package — 1K", lambda t: "Service ID: 4" in t)
    assert "Send the link" in await press(tg, ALICE, "Order", lambda t: "Send the link" in t)

    # SIGTERM while a handler waits for the panel: the first balance request hangs until the
    # client's 1 s timeout, the retry answers, and only then does the process exit.
    sim.fail_next("hang", action="balance")
    tg.send_text(BOB, "/balance")
    await sim.wait_for_requests(1, "balance")
    assert await bot_process.stop(signal.SIGTERM) == 0
    assert "Balance: 100" in tg.last_message(BOB).text  # type: ignore[union-attr]

    # Written while no bot runs: the next run answers it.
    tg.send_text(BOB, "/help")
    await bot_process.start()
    await tg.wait_for(lambda: "/new" in tg.last_message(BOB).text, timeout=10)  # type: ignore[union-attr]
    # The order wizard goes on where it was.
    reply = await say(tg, ALICE, "https://instagram.com/alice", lambda t: "check your order" in t)
    assert "https://instagram.com/alice" in reply
    assert "Placed" in await press(tg, ALICE, "Confirm", lambda t: "Placed" in t)
    [order] = sim.orders.values()
    assert order.fields["link"] == "https://instagram.com/alice"
    assert await bot_process.stop(signal.SIGINT) == 0
    assert len([m for m in tg.transcript(BOB) if "/new" in m.text]) == 1
    assert_clean_log(bot_process)


async def test_waits_for_an_unreachable_telegram_in_one_line_a_try(
    bot_process: BotProcess,
) -> None:
    # Nothing listens on port 9: the start finds no Telegram, says so, and keeps trying.
    bot_process.env["TELEGRAM_API_URL"] = "http://127.0.0.1:9"
    with bot_process.log.open("a") as log:
        bot_process.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            env=bot_process.env,
            cwd=bot_process.tmp_path,
            stdout=log,
            stderr=log,
        )
    await wait_for_line(bot_process, "Telegram is not reachable")
    assert not bot_process.exited, bot_process.log.read_text()
    assert await bot_process.stop(signal.SIGTERM) == 0
    # Warnings only, each a single line: no traceback, no configuration error.
    lines = bot_process.log.read_text().splitlines()
    assert all(" WARNING " in line or " INFO " in line for line in lines), lines
    assert_clean_log(bot_process)


async def test_a_stop_right_at_the_start_ends_the_run(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    # SIGTERM in the first moments, before polling has begun, must still end the process.
    harness = Harness(tmp_path, sim, tg)
    app = BotApp(harness.settings(), bot_session=tg.create_session())
    await app.open()
    run = asyncio.create_task(app.run(handle_signals=False, polling_timeout=1))
    await asyncio.sleep(0)  # run() has begun, polling has not
    await asyncio.wait_for(app.stop(), 10)
    await asyncio.wait_for(run, 10)
