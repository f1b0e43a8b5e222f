"""Updates handled per second: our bot against a bare aiogram 3 bot, on the same fake Bot API.

Run by hand: ``python -m bench.throughput_bench`` (under a minute with the defaults).
One run starts a bare aiogram bot (a Dispatcher with one message handler that answers with one
message, and one callback handler that writes conversation state and edits the message), then
our bot (bot.app.BotApp, as tests/bot/harness.py starts it), one after the other, both polling
the project's fake Bot API in this process. For each bot and each path, N distinct people send
their update at once, and the figure is N divided by the time until the last answer:

- first contact: each person's first command (our bot: /help; it creates the person's row);
- returning: the same command again;
- wizard step: a button press that writes conversation state and answers on screen (our bot:
  "Order" on a service card, which starts the order wizard; preparing the cards is not timed).

The ratio (ours / bare) is the figure; the absolute rates depend on the machine's load.
``--profile FILE`` writes a cProfile of our bot's timed paths.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiogram import Dispatcher, F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.app import BotApp
from bot.config import Settings
from bot.sandbox.simulator import PanelSimulator
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


async def run_bare(tg: FakeTelegram, people: list[int]) -> dict[str, float]:
    bot = tg.create_bot()
    dp = bare_dispatcher()
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        await tg.wait_for_call("getUpdates", timeout=10)
        rates = {
            "first contact": await timed(
                tg, "sendMessage", people, lambda p: tg.send_text(p, "/help")
            ),
            "returning": await timed(tg, "sendMessage", people, lambda p: tg.send_text(p, "/help")),
        }
        rates["wizard step"] = await timed(
            tg, "answerCallbackQuery", people, lambda p: press(tg, p, "next")
        )
    finally:
        await dp.stop_polling()
        await task
        await bot.session.close()
    return rates


def press(tg: FakeTelegram, person: int, data: str) -> None:
    message = tg.last_message(person)
    assert message is not None
    tg.press(person, message.message_id, data)


# --- our bot ----------------------------------------------------------------------------------


def settings(tg: FakeTelegram, sim: PanelSimulator, folder: Path, people: list[int]) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        bot_token=tg.token,
        telegram_api_url=tg.base_url,
        panel_url=sim.url,
        panel_key=KEY,
        allowed_user_ids=frozenset(people),
        database_path=folder / "bot.sqlite3",
        telegram_messages_per_second=100_000,
        telegram_chat_interval_seconds=0.0,
        throttle_updates_per_second=1000,
        throttle_burst=1000,
        poll_interval_seconds=3600.0,
        poll_max_interval_seconds=3600.0,
    )


async def run_ours(
    tg: FakeTelegram,
    sim: PanelSimulator,
    folder: Path,
    people: list[int],
    profiler: cProfile.Profile | None,
) -> dict[str, float]:
    app = BotApp(settings(tg, sim, folder, people), bot_session=tg.create_session())
    await app.open()
    task = asyncio.create_task(app.run(handle_signals=False, polling_timeout=1))
    rates: dict[str, float] = {}

    async def measure(name: str, run: Awaitable[float]) -> None:
        if profiler is not None:
            profiler.enable()
        rates[name] = await run
        if profiler is not None:
            profiler.disable()

    try:
        await tg.wait_for_call("getUpdates", timeout=10)
        help_text = lambda p: tg.send_text(p, "/help")  # noqa: E731
        await measure("first contact", timed(tg, "sendMessage", people, help_text))
        await measure("returning", timed(tg, "sendMessage", people, help_text))
        # Not timed: each person opens the service card whose "Order" button is pressed.
        await timed(tg, "sendMessage", people, lambda p: tg.send_text(p, f"/search {SERVICE}"))
        await timed(tg, "answerCallbackQuery", people, lambda p: press_label(tg, p, f"#{SERVICE} "))
        await measure(
            "wizard step",
            timed(tg, "answerCallbackQuery", people, lambda p: press_label(tg, p, "Order")),
        )
    finally:
        await app.stop()
        await task
    return rates


def press_label(tg: FakeTelegram, person: int, label: str) -> None:
    message = tg.last_message(person)
    assert message is not None
    tg.press(person, message.message_id, message.button(label)["callback_data"])


async def main_async(count: int, profile: str | None) -> None:
    people = list(range(FIRST_PERSON, FIRST_PERSON + count))
    profiler = cProfile.Profile() if profile else None
    async with PanelSimulator(keys={KEY: Decimal(10**6)}) as sim:
        async with FakeTelegram() as tg:
            bare = await run_bare(tg, people)
        with tempfile.TemporaryDirectory() as folder:
            async with FakeTelegram() as tg:
                ours = await run_ours(tg, sim, Path(folder), people, profiler)
    print(f"{count:,} people, updates handled per second (bare aiogram bot, ours, ratio):")
    for name, bare_rate in bare.items():
        ratio = ours[name] / bare_rate
        print(
            f"  {name:>13}: bare {bare_rate:7.0f}/s, ours {ours[name]:7.0f}/s, "
            f"ratio {ratio:.2f} (goal >= 0.6)"
        )
    if profiler is not None and profile:
        profiler.dump_stats(profile)
        print(f"  profile of our bot's timed paths: {profile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--profile", metavar="FILE", help="cProfile our bot's timed paths")
    args = parser.parse_args()
    asyncio.run(main_async(args.people, args.profile))


if __name__ == "__main__":
    main()
