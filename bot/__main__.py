"""`python -m bot`: long polling until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import NoReturn

from bot.config import ConfigError, Settings, load_settings

CONFIG_EXIT_STATUS = 2


def main() -> None:
    try:
        settings = load_settings()
    except ConfigError as exc:
        _config_error(exc)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiohttp's access and client logs could carry URLs with the bot token in them.
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    # aiosqlite's debug lines repeat every statement with its parameters: people's data.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    try:
        asyncio.run(_run(settings))
    except ConfigError as exc:
        _config_error(exc)


def _config_error(exc: ConfigError) -> NoReturn:
    print(f"configuration error: {exc}", file=sys.stderr)
    raise SystemExit(CONFIG_EXIT_STATUS) from None


async def _run(settings: Settings) -> None:
    # Imported here, not at the top: aiogram takes seconds to import, and a configuration
    # error should be reported at once.
    from bot.app import BotApp

    app = BotApp(settings)
    await app.open()
    await app.run(handle_signals=True)


if __name__ == "__main__":
    main()
