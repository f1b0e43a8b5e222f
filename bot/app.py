"""Builds the bot from settings: store, panel client, Bot, Dispatcher, and background tasks."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import BotCommand

from bot.config import ConfigError, Settings
from bot.handlers import (
    admin,
    balance,
    catalog,
    common,
    connect,
    errors,
    membership,
    orders,
    wizard,
)
from bot.i18n import CatalogI18n, _, build_i18n
from bot.middlewares.access import AccountMiddleware
from bot.middlewares.inflight import InFlightMiddleware
from bot.middlewares.people import AllowListMiddleware, PersonLocaleMiddleware, PersonMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware, TokenBuckets
from bot.notifications import Notifier, unknown_order_alert
from bot.panel.client import PanelClient
from bot.services.accounts import AccountResolver
from bot.services.catalog import CatalogService
from bot.services.delivery import OutboundQueue
from bot.services.ordering import OrderService
from bot.services.tracking import OrderTracker
from bot.storage import (
    Database,
    KeyRepository,
    OrderRepository,
    RefillRepository,
    SecretBox,
    SecretDecryptError,
    StorageError,
    UserRepository,
    load_or_create_secret_key,
    shown_url,
)
from bot.storage.fsm import DatabaseStorage
from bot.storage.repositories import OrderRow
from bot.telegram.retry import RetryAfterMiddleware
from bot.telegram.sender import make_bot_sender

log = logging.getLogger(__name__)

# Handlers in flight get this long; with the outbound queue's 2 s drain, a stop stays within
# the 10 s that process managers (Docker's default) wait before killing.
SHUTDOWN_GRACE_SECONDS = 6.0


def command_list(*, own_keys: bool) -> list[BotCommand]:
    """The menu of commands; /connect and /disconnect only where people bring their own key."""
    commands = [
        BotCommand(command="start", description=_("Main menu")),
        BotCommand(command="new", description=_("New order")),
        BotCommand(command="search", description=_("Find a service")),
        BotCommand(command="orders", description=_("My orders")),
        BotCommand(command="order", description=_("One order by number")),
        BotCommand(command="balance", description=_("Panel balance")),
    ]
    if own_keys:
        commands += [
            BotCommand(command="connect", description=_("Connect your panel key")),
            BotCommand(command="disconnect", description=_("Forget your panel key")),
        ]
    return [
        *commands,
        BotCommand(command="language", description=_("Language")),
        BotCommand(command="help", description=_("Help")),
        BotCommand(command="cancel", description=_("Leave the current step")),
    ]


class BotApp:
    """Everything the running bot owns; `run()` polls until `stop()` or a signal."""

    def __init__(self, settings: Settings, *, bot_session: AiohttpSession | None = None) -> None:
        self.settings = settings
        self._bot_session = bot_session
        self._stopped = asyncio.Event()

    async def open(self) -> None:
        """Raises ConfigError when the language, the secret key or the database cannot serve."""
        s = self.settings
        self._opened_at = time.time()
        self.i18n: CatalogI18n = build_i18n(s.locales_dir, s.default_language)
        if s.default_language not in ("en", *self.i18n.available_locales):
            raise ConfigError(
                f"DEFAULT_LANGUAGE: no catalogue for {s.default_language} in {s.locales_dir}"
            )
        secret = s.secret_key.get_secret_value() if s.secret_key else None
        if secret is None and s.database_file is None:
            # Every host sharing the server must decrypt the same keys: a file would be per host.
            raise ConfigError("SECRET_KEY: is required when DATABASE_URL is a PostgreSQL server")
        # Named as the person configured it; a server's password is never shown.
        setting = "DATABASE_URL" if s.database_url else "DATABASE_PATH"
        shown = s.database_file or shown_url(s.database)
        # Without SECRET_KEY, the key is kept in a file beside the SQLite database.
        key_file = (s.database_file or Path()).parent / "secret.key"
        try:
            box = SecretBox(load_or_create_secret_key(secret, key_file))
        except ValueError as exc:
            # The message names the key file at most, never the key.
            raise ConfigError(f"SECRET_KEY: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{setting}: cannot use {key_file}: {exc.strerror}") from None
        try:
            self.db = await Database.open(s.database)
        except (OSError, StorageError) as exc:
            raise ConfigError(f"{setting}: cannot use {shown}: {exc}") from None
        try:
            await self._assemble(box)
        except BaseException:
            await self.db.close()
            raise

    async def _assemble(self, box: SecretBox) -> None:
        s = self.settings
        self.keys = KeyRepository(self.db, box)
        try:
            # Every stored key is needed to track orders: a changed secret key breaks them all.
            await self.keys.all_keys()
        except SecretDecryptError:
            raise ConfigError(
                "SECRET_KEY: the stored panel keys were encrypted with another secret key"
            ) from None
        self.users = UserRepository(self.db)
        self.orders = OrderRepository(self.db)
        self.refills = RefillRepository(self.db)
        self.panel = PanelClient(
            s.panel_url,
            timeout=s.panel_timeout_seconds,
            user_agent=s.panel_user_agent,
            read_retries=s.panel_read_retries,
            retry_backoff=s.panel_retry_backoff_seconds,
        )
        shared_key = s.panel_key.get_secret_value() if s.shared_key_mode and s.panel_key else None
        self.accounts = AccountResolver(self.panel, self.keys, shared_key)
        self.catalog = CatalogService(s.catalog_ttl_seconds)
        self.bot = self._build_bot()
        self.queue = OutboundQueue(
            make_bot_sender(self.bot),
            global_per_second=s.telegram_messages_per_second,
            per_chat_interval=s.telegram_chat_interval_seconds,
            on_blocked=self._blocked,
        )
        self.notifier = Notifier(self.orders, self.refills, self.users, self.queue, self.i18n)
        self.ordering = OrderService(
            self.orders,
            self.refills,
            poll_interval=s.poll_interval_seconds,
            on_unknown=self._alert_unknown,
        )
        self.tracker = OrderTracker(
            self.orders,
            self.refills,
            self.accounts,
            base_interval=s.poll_interval_seconds,
            max_interval=s.poll_max_interval_seconds,
            on_changes=self.notifier.flush,
        )
        self.inflight = InFlightMiddleware()
        self.dp = self._build_dispatcher()
        # Logged once every check above passed: a refused start prints one line, not two.
        if not s.locales_dir.is_dir():
            log.warning("LOCALES_DIR %s does not exist: the bot speaks English only", s.locales_dir)
        log.info("languages: %s", ", ".join(self.i18n.languages))

    def _build_bot(self) -> Bot:
        session = self._bot_session
        if session is None:
            url = self.settings.telegram_api_url
            session = AiohttpSession(api=TelegramAPIServer.from_base(url) if url else PRODUCTION)
        session.middleware(RetryAfterMiddleware())
        return Bot(
            self.settings.bot_token.get_secret_value(),
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
        )

    def _build_dispatcher(self) -> Dispatcher:
        s = self.settings
        dp = Dispatcher(storage=DatabaseStorage(self.db), events_isolation=SimpleEventIsolation())
        dp.workflow_data.update(
            settings=s,
            accounts=self.accounts,
            catalog=self.catalog,
            ordering=self.ordering,
            orders=self.orders,
            users=self.users,
            keys=self.keys,
        )
        dp.update.outer_middleware(self.inflight)
        # Error handlers run after the update's middlewares have returned: counted apart.
        dp.errors.outer_middleware(self.inflight)
        buckets = TokenBuckets(s.throttle_updates_per_second, s.throttle_burst)
        dp.update.outer_middleware(AllowListMiddleware(s, self.i18n, buckets))
        dp.update.outer_middleware(
            PersonMiddleware(self.users, self.i18n, s.default_language, self.queue.unblock)
        )
        PersonLocaleMiddleware(self.i18n).setup(dp)
        throttling = ThrottlingMiddleware(buckets)
        dp.message.outer_middleware(throttling)
        dp.callback_query.outer_middleware(throttling)
        account_middleware = AccountMiddleware(self.accounts)
        dp.message.middleware(account_middleware)
        dp.callback_query.middleware(account_middleware)
        # The error handlers' router is the parent: errors bubble up from the routers below it.
        root = errors.create_router()
        root.include_routers(
            *(
                m.create_router()
                for m in (membership, common, connect, admin, wizard, catalog, orders, balance)
            )
        )
        root.include_router(common.create_fallback_router())
        dp.include_router(root)
        dp.startup.register(self._on_startup)
        return dp

    async def _on_startup(self) -> None:
        await self._set_commands()
        await self.queue.start()
        # Deliver what a restart interrupted before anything new happens.
        await self.ordering.recover_interrupted(created_before=self._opened_at)
        await self.notifier.flush()
        self.tracker.start()

    async def _set_commands(self) -> None:
        for language in self.i18n.languages:
            with self.i18n.context(), self.i18n.use_locale(language):
                commands = command_list(own_keys=not self.settings.shared_key_mode)
            if language == self.settings.default_language:
                await self.bot.set_my_commands(commands)
            await self.bot.set_my_commands(commands, language_code=language)

    async def _blocked(self, chat_id: int) -> None:
        await self.users.set_blocked(chat_id, True)

    async def _alert_unknown(self, order: OrderRow) -> None:
        await self.notifier.alert_admins(
            self.settings.admin_ids, lambda: unknown_order_alert(order)
        )

    async def run(self, *, handle_signals: bool = True, **polling: Any) -> None:
        """Poll until stopped, then let handlers finish and close everything."""
        try:
            await self.dp.start_polling(
                self.bot, handle_signals=handle_signals, close_bot_session=False, **polling
            )
        finally:
            await self._shutdown()

    async def stop(self) -> None:
        await self.dp.stop_polling()
        await self._stopped.wait()

    async def _shutdown(self) -> None:
        try:
            if not await self.inflight.drained(within=SHUTDOWN_GRACE_SECONDS):
                log.warning("stopping with updates still being handled")
            await self.tracker.stop()
            await self.queue.stop(drain=True, timeout=2.0)
        finally:
            await self.panel.close()
            await self.bot.session.close()
            await self.db.close()
            self._stopped.set()
