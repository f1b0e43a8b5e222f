"""The bot's start time and memory, with 100,000 known people and 100,000 open orders.

Run by hand: ``python -m bench.footprint_bench`` (about half a minute).
The fake Bot API and the panel simulator run in this process; the bot runs in a fresh process
(bench.footprint_child), which measures its own resident memory (VmRSS) and the time at each
step of its start:
the interpreter alone, after importing aiogram (and its Bot API types: aiogram's own share),
after importing our bot (bot.app and what it imports), after BotApp.open() on the seeded
database, and after it has started polling and served one /help.
The open orders are due an hour later, so no status cycle runs during the measurement (the
memory of a cycle over 100,000 orders is bench.tracking_bench's figure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from bot.sandbox.simulator import PanelSimulator
from bot.storage import Database
from tests.fakes.telegram import FakeTelegram

KEY = "bench-footprint-key-0123456789"
PERSON = 10_000_000  # the first seeded person's Telegram ID


async def seed(path: Path, people: int, orders: int) -> None:
    db = await Database.open(path)
    now = time.time()
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO users (telegram_id, language, blocked, created_at, updated_at) "
            "VALUES (?, 'en', 0, ?, ?)",
            [(PERSON + n, now, now) for n in range(people)],
        )
        await tx.executemany(
            "INSERT INTO orders (intent_token, owner_id, account, panel_order_id, service_id, "
            "service_name, service_type, rate, link, quantity, price, placement, refillable, "
            "cancelable, final, next_poll_at, poll_interval, created_at, updated_at) "
            "VALUES (?, ?, 'shared', ?, 1, 'Instagram Followers', 'Default', '0.90', "
            "'https://instagram.com/p/bench', 100, '0.09', 'placed', 1, 1, 0, ?, 60, ?, ?)",
            [
                (f"footprint-{n}", PERSON + n % max(people, 1), 1_000_000 + n, now + 3600, now, now)
                for n in range(orders)
            ],
        )
    await db.close()


async def measure(people: int, orders: int, folder: Path) -> list[tuple[str, float, float]]:
    db = folder / "bot.sqlite3"
    await seed(db, people, orders)
    async with PanelSimulator(keys={KEY: Decimal(1000)}) as sim, FakeTelegram() as tg:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.footprint_child",
            *(tg.base_url, tg.token, sim.url, KEY, str(db), str(PERSON)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdin is not None and child.stdout is not None
        await child.stdout.readline()  # polling runs
        tg.send_text(PERSON, "/help")
        await tg.wait_for_call("sendMessage", chat_id=PERSON, timeout=30)
        child.stdin.write(b"\n")
        await child.stdin.drain()
        steps: list[tuple[str, float, float]] = json.loads(await child.stdout.readline())
        await child.wait()
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        steps = asyncio.run(measure(args.people, args.orders, Path(folder)))
    print(f"start with {args.people:,} known people and {args.orders:,} open orders:")
    previous = steps[0]
    for name, seconds, rss in steps:
        print(
            f"  {name:>28}: {seconds:5.2f} s, RSS {rss:4.0f} MB "
            f"(+{seconds - previous[1]:.2f} s, +{rss - previous[2]:.0f} MB)"
        )
        previous = (name, seconds, rss)


if __name__ == "__main__":
    main()
