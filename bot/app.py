"""The running bot: opens the services, runs a front end (polling or webhook) and the worker,
and stops them in an order that loses nothing.

Shutdown order: the front end stops taking updates; handlers in flight get a grace period,
then are cut off (their shielded bookkeeping still runs and queues what they must say); the
worker stops; the outbound queue delivers what is queued; only then are the sessions and the
database closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from redis.exceptions import RedisError

from bot import preflight
from bot.config import ConfigError, Settings
from bot.container import Services
from bot.factory import build_bot, build_dispatcher, build_services, set_commands
from bot.i18n import CatalogI18n, build_i18n
from bot.payments.webhook import CryptoPayWebhook
from bot.runners.inflight import InFlight
from bot.runners.inlet import UpdateInlet
from bot.runners.webhook import Route, WebhookServer, set_webhook
from bot.services.invoice_poller import InvoicePoller
from bot.shared.connection import SharedRedis
from bot.storage import (
    Database,
    KeyRepository,
    LeaseRepository,
    SecretBox,
    SecretDecryptError,
    StorageError,
    load_or_create_secret_key,
    shown_url,
)
from bot.storage.topups import Provider
from bot.telegram.limiter import SendLimiter
from bot.worker import Together, Worker

log = logging.getLogger(__name__)

CUT_OFF_SECONDS = 1.0
QUEUE_DRAIN_SECONDS = 2.0
# Waiting for Telegram at start: doubled after each failure, up to the cap.
REACH_FIRST_WAIT = 1.0
REACH_MAX_WAIT = 60.0
# Setting the webhook takes two Bot API calls; a front end that died holding the turn frees it.
WEBHOOK_LOCK_SECONDS = 30.0


class StoppedWhileOpening(Exception):
    """A stop was asked for while the app was still opening: nothing to run, nothing wrong."""


class BotApp:
    """Everything the running bot owns; `run()` serves until `stop()` or a signal.

    `front`: take updates (the runner from RUNNER); `worker`: run the background work here
    (default RUN_WORKER).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        bot_session: AiohttpSession | None = None,
        front: bool = True,
        worker: bool | None = None,
    ) -> None:
        self.settings = settings
        self._bot_session = bot_session
        self._front = front
        self._with_worker = settings.run_worker if worker is None else worker
        self._stop_requested = asyncio.Event()
        self._stopped = asyncio.Event()
        self.inflight = InFlight()
        self.webhook: WebhookServer | None = None
        self.worker: Worker | None = None
        self.shared: SharedRedis | None = None
        self._polling: asyncio.Task[None] | None = None

    # --- opening ------------------------------------------------------------------------------

    async def open(self) -> None:
        """Raises ConfigError when a setting cannot serve (the language, the secret key, the
        database, the bot token); waits while Telegram cannot be reached."""
        s = self.settings
        preflight.check(s)
        self.i18n: CatalogI18n = build_i18n(s.locales_dir, s.default_language)
        secret = s.secret_key.get_secret_value() if s.secret_key else None
        # Named as the person configured it; a server's password is never shown.
        setting = "DATABASE_URL" if s.database_url else "DATABASE_PATH"
        shown = s.database_file or shown_url(s.database)
        key_file = preflight.secret_key_file(s) or Path("secret.key")  # unused with SECRET_KEY
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
            self.shared = await self._connect_shared()
        except BaseException:
            await self.db.close()
            raise
        try:
            await self._assemble(box)
        except BaseException:
            await self._close_shared()
            await self.db.close()
            raise

    async def _connect_shared(self) -> SharedRedis | None:
        """Redis, when REDIS_URL is set: what several instances share."""
        url = self.settings.redis_url
        if url is None:
            return None
        try:
            return await SharedRedis.connect(url.get_secret_value(), self.settings.redis_prefix)
        except (RedisError, OSError) as exc:
            # The URL may carry a password: the message names the error, not the URL.
            raise ConfigError(f"REDIS_URL: cannot reach Redis ({type(exc).__name__})") from None

    async def _close_shared(self) -> None:
        if self.shared is not None:
            await self.shared.close()

    async def _assemble(self, box: SecretBox) -> None:
        s = self.settings
        keys = KeyRepository(self.db, box)
        try:
            # Every stored key is needed to track orders: a changed secret key breaks them all.
            await keys.all_keys()
        except SecretDecryptError:
            raise ConfigError(
                "SECRET_KEY: the stored panel keys were encrypted with another secret key"
            ) from None
        # One limiter for every message the bot sends: answers, notifications and refusals.
        self.limiter = SendLimiter(s.telegram_messages_per_second, s.telegram_chat_interval_seconds)
        self.bot: Bot = build_bot(s, self.limiter, self._bot_session)
        try:
            await self._reach_telegram()
            self.services: Services = build_services(
                s, self.i18n, self.db, keys, self.bot, self.shared
            )
        except BaseException:
            await self.bot.session.close()
            raise
        if self._front:
            self.dp: Dispatcher = build_dispatcher(self.services, self.inflight)
            self.inlet = UpdateInlet(self.dp, self.bot)
        if self._with_worker:
            self.worker = self._build_worker()
        # Logged once every check above passed: a refused start prints one line, not two.
        if not s.locales_dir.is_dir():
            log.warning("LOCALES_DIR %s does not exist: the bot speaks English only", s.locales_dir)
        log.info("languages: %s", ", ".join(self.i18n.languages))

    async def _reach_telegram(self) -> None:
        """Check the token with getMe; while Telegram cannot be reached, retry with backoff."""
        wait = REACH_FIRST_WAIT
        while True:
            try:
                await self.bot.get_me()
                return
            except TelegramUnauthorizedError:
                raise ConfigError("BOT_TOKEN: Telegram refused this token") from None
            except (TelegramNetworkError, TelegramServerError, OSError) as exc:
                log.warning(
                    "Telegram is not reachable (%s); trying again in %.0f s",
                    type(exc).__name__,
                    wait,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_requested.wait(), wait)
            if self._stop_requested.is_set():
                raise StoppedWhileOpening
            wait = min(wait * 2, REACH_MAX_WAIT)

    def _build_worker(self) -> Worker:
        services = self.services
        timeout = self.settings.panel_timeout_seconds

        async def recover() -> None:
            # Intents younger than twice the panel timeout may be another instance's Confirm
            # still waiting for the panel: only older ones are a crash's leftovers.
            await services.ordering.recover_interrupted(created_before=time.time() - 2 * timeout)
            await services.notifier.flush()

        return Worker(
            lease=LeaseRepository(self.db),
            ttl=self.settings.worker_lease_seconds,
            recover=recover,
            tracker=Together(services.tracker, services.broadcaster),
            others=[
                InvoicePoller(services.topups.poll_invoices, self.settings.cryptopay_poll_seconds)
            ]
            if services.topups is not None and Provider.CRYPTOPAY in services.topups.providers
            else [],
        )

    # --- running ------------------------------------------------------------------------------

    async def run(self, *, handle_signals: bool = True, **polling: Any) -> None:
        """Serve until stopped, then shut down in order (see the module's doc)."""
        if handle_signals:
            self.install_signal_handlers()
        try:
            await self.services.queue.start()
            if self._front:
                await self._start_front(**polling)
            if self.worker is not None:
                self.worker.start()
            await self._stop_requested.wait()
        finally:
            await self._shutdown()

    def _payment_routes(self) -> dict[str, Route]:
        """Crypto Pay's webhook beside Telegram's path (the worker's polling finds the rest)."""
        s, topups = self.settings, self.services.topups
        if s.cryptopay_webhook_path is None or s.cryptopay_token is None or topups is None:
            return {}
        hook = CryptoPayWebhook(s.cryptopay_token.get_secret_value(), topups.invoice_paid)
        return {s.cryptopay_webhook_path: hook.handle}

    async def _start_front(self, **polling: Any) -> None:
        s = self.settings
        await set_commands(self.bot, self.services)
        allowed = self.dp.resolve_used_update_types()
        if s.runner == "webhook":
            assert s.webhook_url is not None and s.webhook_secret is not None
            secret = s.webhook_secret.get_secret_value()
            self.webhook = WebhookServer(
                self.inlet,
                secret=secret,
                path=s.listen_path,
                host=s.webhook_host,
                port=s.webhook_port,
                grace=s.shutdown_grace_seconds,
                routes=self._payment_routes(),
            )
            await self.webhook.start()
            async with self._one_instance_at_a_time("webhook"):
                await set_webhook(
                    self.bot, url=s.webhook_url, secret=secret, allowed_updates=allowed
                )
            return
        # A webhook left from an earlier run would make getUpdates fail: polling replaces it.
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._polling = asyncio.create_task(
            self.dp.start_polling(
                self.bot,
                handle_signals=False,
                close_bot_session=False,
                allowed_updates=allowed,
                **polling,
            )
        )
        self._polling.add_done_callback(lambda _task: self._stop_requested.set())

    def _one_instance_at_a_time(self, name: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Front ends starting together take turns: the first sets the webhook, the others
        then find it set (without Redis there is one instance, so no turns)."""
        if self.shared is None:
            return contextlib.nullcontext()
        return self.shared.exclusive(name, hold_seconds=WEBHOOK_LOCK_SECONDS)

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT ask for a stop (also while `open()` waits for Telegram)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop_requested.set)

    async def stop(self) -> None:
        self._stop_requested.set()
        await self._stopped.wait()

    async def _shutdown(self) -> None:
        try:
            await self._stop_front()
            if not await self.inflight.drained(within=self.settings.shutdown_grace_seconds):
                log.warning("stopping with updates still being handled: cutting them off")
                if not await self.inflight.cancel_remaining(within=CUT_OFF_SECONDS):
                    log.error("some updates did not end when cut off")
            if self.worker is not None:
                await self.worker.stop()
            await self.services.people.written()  # before the database closes
            await self.services.users.settled()
            await self.services.queue.stop(drain=True, timeout=QUEUE_DRAIN_SECONDS)
        finally:
            await self.close()
            self._stopped.set()

    async def close(self) -> None:
        """Close what `open()` opened (for an app that was opened and never run)."""
        await self.services.panel.close()
        if self.services.topups is not None:
            await self.services.topups.close()
        self.limiter.close()  # ends sends still waiting for a slot or a 429's pause
        await self.bot.session.close()
        await self._close_shared()
        await self.db.close()

    async def _stop_front(self) -> None:
        if self.webhook is not None:
            # Stops listening, then lets accepted requests finish within the grace period.
            await self.webhook.stop()
        if self._polling is not None:
            try:
                await self.dp.stop_polling()
            except RuntimeError:
                # Not polling (yet, or any more): a stop right at the start has taken no
                # update, so the start is simply cancelled.
                self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
