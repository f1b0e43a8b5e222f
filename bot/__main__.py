"""`python -m bot [run|worker|migrate|ledger-check|sandbox]`: the bot (front end and, by
default, the worker), the worker alone, the schema brought up to date, a check of the shop's
ledger, or the sandbox (the bot against a simulated panel and Telegram, used from a web page).
Settings come from the environment and `.env` (the sandbox needs none); see README.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from pathlib import Path
from typing import NoReturn

from bot.config import ConfigError, Settings, load_settings

CONFIG_EXIT_STATUS = 2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=("run", "worker", "migrate", "ledger-check", "sandbox"),
        help=(
            "run: the bot as RUNNER and RUN_WORKER say (default); worker: the worker alone; "
            "migrate: bring the database to the newest schema and exit; ledger-check: every "
            "wallet is the sum of its entries, no order refunded twice (exit status 1 if not); "
            "sandbox: try the bot in a browser, with no settings"
        ),
    )
    sandbox = parser.add_argument_group("sandbox")
    sandbox.add_argument(
        "--mode",
        choices=("shop", "shared-key", "own-key"),
        default="shop",
        help="the bot's mode in the sandbox (default shop)",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="the page's address (127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8080, help="the page's port (8080)")
    sandbox.add_argument(
        "--data",
        type=Path,
        default=None,
        help="keep the bot and the panel here from one start to the next (default: temporary)",
    )
    sandbox.add_argument("--verbose", action="store_true", help="log what the bot does")
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        from bot.sandbox.run import main as run_sandbox

        run_sandbox(args.mode, args.data, args.host, args.port, args.verbose)
        return
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
    if args.command == "ledger-check":
        raise SystemExit(asyncio.run(_ledger_check(settings)))
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
    # What is there now (aiogram's models of every Bot API type, the services) lives as long
    # as the process: kept out of the garbage collector's sight, a full collection walks only
    # what came after, not a 0.2 s pause in the middle of answering people.
    gc.freeze()
    await app.run(handle_signals=False)


async def _ledger_check(settings: Settings) -> int:
    """Print each discrepancy of the ledger; the exit status: 1 if there is any."""
    from bot.services.ledger import check
    from bot.storage import Database
    from bot.storage.wallets import WalletRepository

    async with await Database.open(settings.database) as db:
        found = await check(WalletRepository(db))
    for discrepancy in found:
        print(discrepancy)
    print(f"ledger-check: {len(found)} discrepancies" if found else "ledger-check: sound")
    return 1 if found else 0


if __name__ == "__main__":
    main()
