"""`python -m bot sandbox`: the panel simulator, the fake Bot API, the real bot between them and
the page to use them all, in one process and with no settings at all.

The bot is the real one (Dispatcher, storage, worker, polling over HTTP); only its settings are
made here, from nothing in the environment or a `.env`, so that a sandbox never reaches a real
bot or panel by accident.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.config import Settings
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.sandbox.simulator import PanelSimulator
from bot.sandbox.web.page import SandboxPage, Visitor
from bot.storage.ledger import EntryKind, Movement

MODES = ("shop", "shared-key", "own-key")
DEFAULT_MODE = "shop"
# In a shop, each visitor's wallet starts with this much (USD cents), credited once, so that a
# newcomer can buy at once; more comes from top-ups (Stars or the simulated Crypto Pay, paid on
# the page) or an admin's /credit.
WELCOME_CREDIT_CENTS = 1000
# The shop's top-ups: Telegram Stars at about their price, amounts a visitor can try at once.
STARS_PER_UNIT = Decimal(50)
TOPUP_AMOUNTS = (Decimal(1), Decimal(5), Decimal(10))
SHARED_KEY = "sandbox-shared-key"
PANEL_BALANCE = Decimal(100)
OWN_KEY_BALANCE = Decimal(25)
# The people a visitor can be: one per language, the first an admin.
PEOPLE = (
    (1001, "Alice", "en"),
    (1002, "Борис", "ru"),
    (1003, "ゆき", "ja"),
)
ADMIN_ID = PEOPLE[0][0]


class SandboxSettings(Settings):
    """Settings from the arguments alone: no environment, no `.env`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class Sandbox:
    """Everything the sandbox runs; `start()` then `stop()` (or `async with`)."""

    def __init__(
        self,
        *,
        mode: str = DEFAULT_MODE,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        poll_interval_seconds: float = 2.0,
        services: list[dict[str, Any]] | None = None,
    ) -> None:
        """`services`: the panel's catalogue (default: the simulator's, every service type)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.mode = mode
        self._host = host
        self._port = port
        self._poll_interval = poll_interval_seconds
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="smm-sandbox-")
            data_dir = Path(self._temporary.name)
        self.data_dir = data_dir
        shared = mode != "own-key"
        self.visitors = [
            Visitor(user_id, name, language, key=None if shared else f"sandbox-key-{user_id}")
            for user_id, name, language in PEOPLE
        ]
        keys = (
            {SHARED_KEY: PANEL_BALANCE}
            if shared
            else {str(v.key): OWN_KEY_BALANCE for v in self.visitors}
        )
        self.sim = PanelSimulator(services=services, keys=keys)
        self.fake = FakeTelegramServer(username="smm_sandbox_bot", first_name="SMM Panel Bot")
        # The shop's Crypto Pay: the bot calls its API, a visitor pays on the page's pay page.
        # Its invoices live in memory only, but the bot's database (--data) keeps their ids:
        # ids from the clock in milliseconds never meet an earlier run's, so a new invoice is
        # never refused as, or taken for, an old top-up's (whose lost invoice the bot expires).
        self.cryptopay = (
            CryptoPaySimulator(first_invoice_id=int(time.time() * 1000)) if mode == "shop" else None
        )
        self.page = SandboxPage(
            self.fake, self.sim, self.visitors, mode=mode, cryptopay=self.cryptopay
        )
        self._bot_task: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self.app: Any = None  # the BotApp, once started

    def settings(self) -> Settings:
        shared = self.mode != "own-key"
        values: dict[str, Any] = {
            "mode": self.mode,
            "bot_token": self.fake.token,
            "telegram_api_url": self.fake.base_url,
            "panel_url": self.sim.url,
            "panel_key": SHARED_KEY if shared else None,
            "allowed_user_ids": frozenset(v.user_id for v in self.visitors),
            "admin_ids": frozenset({ADMIN_ID}),
            "database_path": self.data_dir / "bot.sqlite3",
            # Status changes made on the page reach the chat within seconds, not minutes.
            "poll_interval_seconds": self._poll_interval,
            "poll_max_interval_seconds": self._poll_interval * 3,
            "panel_timeout_seconds": 10.0,
            "log_level": "WARNING",
        }
        if self.cryptopay is not None:
            values.update(
                stars_per_unit=STARS_PER_UNIT,
                topup_amounts=TOPUP_AMOUNTS,
                cryptopay_token=self.cryptopay.token,
                cryptopay_api_url=self.cryptopay.url,
                # The worker finds a paid invoice as soon as a status change on the panel would.
                cryptopay_poll_seconds=self._poll_interval,
            )
        return SandboxSettings(**values)  # type: ignore[arg-type]

    async def start(self) -> str:
        """Start everything; the page's address. OSError when the page's port is taken."""
        # Imported here: aiogram and the bot take seconds to import (see bot.__main__).
        from bot.app import BotApp

        # The page first: a port in use is refused before anything else has started.
        url = await self.page.start(self._host, self._port)
        try:
            self._restore_panel()
            await self.sim.start()
            if self.cryptopay is not None:
                await self.cryptopay.start()
                self.cryptopay.pay_page_url = url + "cryptopay"
            await self.fake.start()
            self.app = BotApp(self.settings(), bot_session=self.fake.create_session())
            await self.app.open()
            await self._welcome_credit()
            self._bot_task = asyncio.create_task(self.app.run(handle_signals=False))
            await self._polling_started(self._bot_task)
            if self._temporary is None:
                self._keeper = asyncio.create_task(self._keep_panel())
        except BaseException:
            await self.stop()
            raise
        return url

    async def _welcome_credit(self) -> None:
        """Shop mode: every visitor's wallet gets WELCOME_CREDIT_CENTS once (the ledger's key
        makes a restart with --data credit nothing more)."""
        wallets = self.app.services.wallets
        if wallets is None:
            return
        for visitor in self.visitors:
            await wallets.post(
                Movement(
                    user_id=visitor.user_id,
                    kind=EntryKind.ADMIN_CREDIT,
                    amount=WELCOME_CREDIT_CENTS,
                    key=f"sandbox-welcome-{visitor.user_id}",
                    reference="sandbox",
                    note="sandbox welcome credit",
                )
            )

    async def _polling_started(self, bot: asyncio.Task[None]) -> None:
        """Return once the bot asks for updates: the page is of no use before, and a stop
        asked for before polling began would wait for a polling nobody stops."""
        while True:
            changed = self.fake.changes.next()  # taken before looking, so no call is missed
            if any(call.method == "getUpdates" for call in self.fake.calls):
                return
            waiter = asyncio.ensure_future(changed.wait())
            await asyncio.wait({waiter, bot}, return_when=asyncio.FIRST_COMPLETED)
            if bot.done():
                waiter.cancel()
                await bot  # its error, if it failed
                raise RuntimeError("the bot stopped while the sandbox was starting")

    @property
    def panel_file(self) -> Path:
        """Where a kept data folder holds the simulated panel (the bot's database is beside)."""
        return self.data_dir / "panel.json"

    def _restore_panel(self) -> None:
        if self._temporary is None and self.panel_file.exists():
            self.sim.load(json.loads(self.panel_file.read_text("utf-8")))

    async def _keep_panel(self) -> None:
        """Save the panel at every change: the bot's database outlives a crash, so must the
        panel its orders are on, or a new order would reuse an id the bot already knows."""
        while True:
            changed = self.sim.changes.next()
            self._save_panel()
            await changed.wait()

    def _save_panel(self) -> None:
        part = self.panel_file.with_suffix(".part")
        part.write_text(json.dumps(self.sim.dump()), "utf-8")
        part.replace(self.panel_file)

    async def stop(self) -> None:
        await self.page.stop()
        if self._bot_task is not None:
            await self.app.stop()
            await self._bot_task
            self._bot_task = None
        self.app = None
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
            self._save_panel()  # with what the bot did while it stopped
        await self.fake.stop()
        await self.sim.stop()
        if self.cryptopay is not None:
            await self.cryptopay.stop()
        if self._temporary is not None:
            self._temporary.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def serve(sandbox: Sandbox) -> None:
    """Run until SIGINT or SIGTERM, printing the page's address and nothing else."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await sandbox.start()
    try:
        print(f"Sandbox running: open {url} (Ctrl-C stops it)", flush=True)
        await stop.wait()
    finally:
        await sandbox.stop()


def main(mode: str, data_dir: Path | None, host: str, port: int, verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.ERROR,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # The fake and the simulator only stand in for Telegram and a panel: their warnings
        # (a fault switched on, a method the fake lacks) are not the newcomer's business.
        logging.getLogger("aiohttp").setLevel(logging.ERROR)
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(mode=mode, data_dir=data_dir, host=host, port=port)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(sandbox))
    except OSError as exc:
        print(f"cannot open the page on {host}:{port}: {exc.strerror}", file=sys.stderr)
        print("another program uses it? try --port with another number", file=sys.stderr)
        raise SystemExit(2) from None
