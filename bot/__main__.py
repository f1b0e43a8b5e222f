"""`python -m bot [run|worker]`: the bot (front end and, by default, the worker), or the worker
alone. Settings come from the environment and `.env`; see README.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import NoReturn

from bot.config import ConfigError, Settings, load_settings

CONFIG_EXIT_STATUS = 2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=("run", "worker", "migrate"),
        help=(
            "run: the bot as RUNNER and RUN_WORKER say (default); worker: the worker alone; "
            "migrate: bring the database to the newest schema and exit"
        ),
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        # Before the heavy imports: a bad setting is reported at once.
        from bot.preflight import check

        check(settings)
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
        if args.command == "migrate":
            asyncio.run(_migrate(settings))
        else:
            asyncio.run(_run(settings, worker_only=args.command == "worker"))
    except ConfigError as exc:
        _config_error(exc)


def _config_error(exc: ConfigError) -> NoReturn:
    print(f"configuration error: {exc}", file=sys.stderr)
    raise SystemExit(CONFIG_EXIT_STATUS) from None


async def _migrate(settings: Settings) -> None:
    from bot.storage import StorageError, migrate_database, shown_url

    try:
        revision = await migrate_database(settings.database)
    except (OSError, StorageError) as exc:
        shown = settings.database_file or shown_url(settings.database)
        raise ConfigError(f"cannot migrate {shown}: {exc}") from None
    print(f"database schema at revision {revision}")


async def _run(settings: Settings, *, worker_only: bool) -> None:
    # Imported here, not at the top: aiogram takes seconds to import, and a configuration
    # error should be reported at once.
    from bot.app import BotApp, StoppedWhileOpening

    app = BotApp(settings, front=not worker_only, worker=True if worker_only else None)
    app.install_signal_handlers()
    try:
        await app.open()
    except StoppedWhileOpening:
        return
    await app.run(handle_signals=False)


if __name__ == "__main__":
    main()
