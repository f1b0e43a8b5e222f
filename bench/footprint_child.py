"""The bot's side of bench.footprint_bench, in a fresh interpreter: nothing imported up front.

Prints one JSON line of start steps when polling runs, waits for a line on stdin (the parent saw
the answer to /help), then prints the final steps: [(name, seconds since start, RSS MB)].
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

BEGAN = time.perf_counter()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    tg_url, token, panel_url, key, db, person = sys.argv[1:7]
    steps = [("interpreter", time.perf_counter() - BEGAN, rss_mb())]

    def step(name: str) -> None:
        steps.append((name, time.perf_counter() - BEGAN, rss_mb()))

    import aiogram
    import aiogram.types  # noqa: F401

    step("import aiogram")
    from bot.app import BotApp
    from bot.config import Settings

    step("import bot.app")

    async def start() -> None:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            bot_token=token,
            telegram_api_url=tg_url,
            panel_url=panel_url,
            panel_key=key,
            database_path=Path(db),
            allowed_user_ids=frozenset({int(person)}),
        )
        app = BotApp(settings)
        await app.open()
        step("BotApp.open()")
        task = asyncio.create_task(app.run(handle_signals=False, polling_timeout=1))
        print(json.dumps(steps), flush=True)
        # Read off the loop, which serves the bot meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        step("polling, one /help answered")
        await app.stop()
        await task

    asyncio.run(start())
    print(json.dumps(steps), flush=True)


if __name__ == "__main__":
    main()
