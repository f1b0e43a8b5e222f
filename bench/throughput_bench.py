"""Updates handled per second: our bot against a bare aiogram 3 bot, on the same fake Bot API.

Run by hand: ``python -m bench.throughput_bench`` (under a minute with the defaults);
``--database-url postgresql+asyncpg://...`` runs our bot on PostgreSQL (in a schema of its own).
A bare aiogram bot (a Dispatcher with one message handler that answers with one message, and
one callback handler that writes conversation state and edits the message) and our bot
(bot.app.BotApp, as tests/bot/harness.py starts it) run side by side in this process, each
polling its own fake Bot API. In each round new people come, and for each path the bare bot
is measured, then ours at once after it: N distinct people send their update at once, and the
figure is N divided by the time until the last answer:

- first contact: each person's first command (our bot: /help; it creates the person's row);
- returning: the same command again;
- wizard step: a button press that writes conversation state and answers on screen (our bot:
  "Order" on a service card, which starts the order wizard; preparing the cards is not timed).

The ratio (ours / bare) is the figure, its median over the rounds and its spread; the absolute
rates depend on the machine's load, which moves between rounds. The CPU time an update of each
bot (the process's: the database thread and the fake Bot APIs included) is printed below them:
on a machine others load, it moves less than the rates.
``--profile FILE`` writes a cProfile of our bot's timed paths.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from aiogram import Dispatcher, F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from cryptography.fernet import Fernet

from bot.app import BotApp
from bot.config import Settings
from bot.sandbox.simulator import PanelSimulator
from bot.storage import shown_url
from tests.databases import database
from tests.fakes.telegram import FakeTelegram

KEY = "bench-throughput-key-0123456789"
FIRST_PERSON = 10_000
SERVICE = 1
TIMEOUT = 60.0


class Calls:
    """Counts the fake Bot API's calls of one method as they come, without rescanning."""

    def __init__(self, tg: FakeTelegram, method: str) -> None:
        self._tg = tg
        self._method = method.lower()
        self._seen = len(tg.calls)
        self.count = 0

    def __call__(self) -> int:
        calls = self._tg.calls
        self.count += sum(1 for call in calls[self._seen :] if call.method.lower() == self._method)
        self._seen = len(calls)
        return self.count


async def timed(
    tg: FakeTelegram, method: str, people: list[int], send: Callable[[int], Any]
) -> float:
    """Updates per second: every person's update queued at once, until `method` was called
    once per person."""
    calls = Calls(tg, method)
    start = time.perf_counter()
    for person in people:
        send(person)
    await tg.wait_for(lambda: calls() >= len(people), TIMEOUT)
    return len(people) / (time.perf_counter() - start)


# --- the bare bot -----------------------------------------------------------------------------


def bare_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        button = InlineKeyboardButton(text="Next", callback_data="next")
        await message.answer(
            message.text or "", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
        )

    @dp.callback_query(F.data == "next")
    async def step(callback: CallbackQuery, state: FSMContext) -> None:
        await state.set_state("step")
        await state.update_data(step=1)
        if isinstance(callback.message, Message):
            await callback.message.edit_text("Step 1")
        await callback.answer()

    return dp


class BareBot:
    """The yardstick, polling its own fake Bot API."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg
        self._bot = tg.create_bot()
        self._dp = bare_dispatcher()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(
            self._dp.start_polling(self._bot, handle_signals=False, polling_timeout=1)
        )
        await self.tg.wait_for_call("getUpdates", timeout=10)

    async def stop(self) -> None:
        await self._dp.stop_polling()
        if self._task is not None:
            await self._task
        await self._bot.session.close()

    async def path(self, name: str, people: list[int]) -> float:
        tg = self.tg
        if name == "wizard step":
            return await timed(tg, "answerCallbackQuery", people, lambda p: press(tg, p, "next"))
        return await timed(tg, "sendMessage", people, lambda p: tg.send_text(p, "/help"))


def press(tg: FakeTelegram, person: int, data: str) -> None:
    message = tg.last_message(person)
    assert message is not None
    tg.press(person, message.message_id, data)


# --- our bot ----------------------------------------------------------------------------------


def settings(tg: FakeTelegram, sim: PanelSimulator, database: str, people: list[int]) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        bot_token=tg.token,
        telegram_api_url=tg.base_url,
        panel_url=sim.url,
        panel_key=KEY,
        allowed_user_ids=frozenset(people),
        database_url=database,
        # Panel keys are sealed with it on a server database; a new one per run.
        secret_key=Fernet.generate_key().decode(),
        telegram_messages_per_second=100_000,
        telegram_chat_interval_seconds=0.0,
        throttle_updates_per_second=1000,
        throttle_burst=1000,
        poll_interval_seconds=3600.0,
        poll_max_interval_seconds=3600.0,
    )


class OurBot:
    """bot.app.BotApp, as tests/bot/harness.py starts it, polling its own fake Bot API."""

    def __init__(
        self,
        tg: FakeTelegram,
        sim: PanelSimulator,
        database: str,
        people: list[int],
        profiler: cProfile.Profile | None,
    ) -> None:
        self.tg = tg
        self._app = BotApp(settings(tg, sim, database, people), bot_session=tg.create_session())
        self._profiler = profiler
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._app.open()
        self._task = asyncio.create_task(self._app.run(handle_signals=False, polling_timeout=1))
        await self.tg.wait_for_call("getUpdates", timeout=10)

    async def stop(self) -> None:
        await self._app.stop()
        if self._task is not None:
            await self._task

    async def prepare(self, name: str, people: list[int]) -> None:
        """Not timed: before the wizard step, each person opens the service card whose
        "Order" button is pressed."""
        if name != "wizard step":
            return
        tg = self.tg
        await timed(tg, "sendMessage", people, lambda p: tg.send_text(p, f"/search {SERVICE}"))
        await timed(tg, "answerCallbackQuery", people, lambda p: press_label(tg, p, f"#{SERVICE} "))

    async def path(self, name: str, people: list[int]) -> float:
        tg = self.tg
        if name == "wizard step":
            run = timed(tg, "answerCallbackQuery", people, lambda p: press_label(tg, p, "Order"))
        else:
            run = timed(tg, "sendMessage", people, lambda p: tg.send_text(p, "/help"))
        if self._profiler is not None:
            self._profiler.enable()
        try:
            return await run
        finally:
            if self._profiler is not None:
                self._profiler.disable()


def press_label(tg: FakeTelegram, person: int, label: str) -> None:
    message = tg.last_message(person)
    assert message is not None
    tg.press(person, message.message_id, message.button(label)["callback_data"])


PATHS = ("first contact", "returning", "wizard step")


class Round(NamedTuple):
    """One path in one round: each bot's rate (updates a second) and the process's CPU
    seconds an update while it ran (its database thread and both fake Bot APIs included)."""

    bare: float
    ours: float
    bare_cpu: float
    our_cpu: float


async def cpu_timed(run: Awaitable[float], count: int) -> tuple[float, float]:
    """The rate `run` measured, and the CPU seconds an update it took."""
    start = time.process_time()
    rate = await run
    return rate, (time.process_time() - start) / count


async def measure(
    count: int, rounds: int, database: str, profiler: cProfile.Profile | None
) -> dict[str, list[Round]]:
    """Both bots' figures per path and round: the two bots run side by side, idle but for
    the path being measured, each path measured on one and at once on the other, so that
    both see the machine's load of the same moment."""
    # Round 0 warms both up untimed: pydantic builds a type's validator at its first use, and
    # whichever bot met a type first would pay for both.
    everyone = list(range(FIRST_PERSON, FIRST_PERSON + count * (rounds + 1)))
    rates: dict[str, list[Round]] = {name: [] for name in PATHS}
    async with (
        PanelSimulator(keys={KEY: Decimal(10**6)}) as sim,
        FakeTelegram() as bare_tg,
        FakeTelegram() as our_tg,
    ):
        bare, ours = BareBot(bare_tg), OurBot(our_tg, sim, database, everyone, profiler)
        await bare.start()
        await ours.start()
        gc.freeze()  # as `python -m bot` does once the bot is open
        try:
            for number in range(rounds + 1):
                people = everyone[number * count : (number + 1) * count]  # new people each round
                for name in PATHS:
                    await ours.prepare(name, people)
                    bare_rate, bare_cpu = await cpu_timed(bare.path(name, people), count)
                    our_rate, our_cpu = await cpu_timed(ours.path(name, people), count)
                    if number > 0:
                        rates[name].append(Round(bare_rate, our_rate, bare_cpu, our_cpu))
        finally:
            await ours.stop()
            await bare.stop()
    return rates


async def main_async(count: int, rounds: int, url: str | None, profile: str | None) -> None:
    profiler = cProfile.Profile() if profile else None
    with tempfile.TemporaryDirectory() as folder:
        async with database(url, Path(folder)) as db:
            rates = await measure(count, rounds, db, profiler)
    where = "SQLite" if url is None else f"PostgreSQL ({shown_url(url)})"
    print(
        f"{count:,} people a round, {rounds} rounds, {where}; updates handled per second "
        "(median of the rounds) and the ratio ours / bare (median, lowest-highest):"
    )
    for name, pairs in rates.items():
        ratios = sorted(r.ours / r.bare for r in pairs)
        bare_rate = statistics.median(r.bare for r in pairs)
        our_rate = statistics.median(r.ours for r in pairs)
        print(
            f"  {name:>13}: bare {bare_rate:6.0f}/s, ours {our_rate:6.0f}/s, "
            f"ratio {statistics.median(ratios):.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f}) "
            "(goal >= 0.6)"
        )
    # Less moved by other processes than the rates (a busy machine takes turns, not cycles).
    print("CPU an update (median of the rounds) and bare / ours (median, lowest-highest):")
    for name, pairs in rates.items():
        shares = sorted(r.bare_cpu / r.our_cpu for r in pairs)
        bare_cpu = statistics.median(r.bare_cpu for r in pairs) * 1e6
        our_cpu = statistics.median(r.our_cpu for r in pairs) * 1e6
        print(
            f"  {name:>13}: bare {bare_cpu:5.0f} us, ours {our_cpu:5.0f} us, "
            f"bare / ours {statistics.median(shares):.2f} ({shares[0]:.2f}-{shares[-1]:.2f})"
        )
    if profiler is not None and profile:
        profiler.dump_stats(profile)
        print(f"  profile of our bot's timed paths: {profile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=100, help="people a round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--database-url", help="a PostgreSQL database (a schema of its own is made and dropped)"
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile our bot's timed paths")
    args = parser.parse_args()
    asyncio.run(main_async(args.people, args.rounds, args.database_url, args.profile))


if __name__ == "__main__":
    main()
