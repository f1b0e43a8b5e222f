"""The webhook front end: an aiohttp server that Telegram POSTs updates to.

Each update is handled before the request is answered: Telegram re-delivers whatever was not
answered 2xx, so a front end killed mid-update loses nothing. On stop the server stops
listening, lets the requests it accepted finish (up to a grace period), then closes. The
webhook is never deleted on stop: another instance may be serving it.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiogram import Bot
from aiohttp import web
from pydantic import ValidationError

from bot.runners.inlet import UpdateInlet

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebhookServer:
    def __init__(
        self,
        inlet: UpdateInlet,
        *,
        secret: str,
        path: str,
        host: str,
        port: int,
        grace: float,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        """`routes`: other POST endpoints served beside Telegram's (a payment provider's
        webhook), by path; each checks its own caller."""
        self._inlet = inlet
        self._routes = dict(routes or {})
        self._secret = secret.encode()
        self._path = path
        self._host = host
        self._port = port
        self._grace = grace
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post(self._path, self._handle)
        for path, handler in self._routes.items():
            app.router.add_post(path, handler)
        # handle_signals=False: the bot owns SIGTERM and orders the whole shutdown itself.
        self._runner = web.AppRunner(
            app, handle_signals=False, shutdown_timeout=self._grace, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server  # the bound port when 0 was asked (tests, the sandbox)
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("webhook server listening on %s:%s%s", self._host, self.bound_port, self._path)

    async def stop(self) -> None:
        """Stop listening, finish the updates accepted (up to the grace period), close."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=401)
        try:
            update = self._inlet.parse(await request.json())
        except (ValueError, ValidationError):
            # Not an update: nothing to handle, and no point in Telegram sending it again.
            log.warning("webhook: a request with the right secret was not an update")
            return web.Response(status=400)
        await self._inlet.feed(update)
        return web.Response()


async def set_webhook(bot: Bot, *, url: str, secret: str, allowed_updates: list[str]) -> None:
    """Point Telegram at `url`, unless it already points there with the same update types.

    Several front ends start with the same settings: the first sets it, the others find it
    set and leave it alone.
    """
    info = await bot.get_webhook_info()
    same = info.url == url and sorted(info.allowed_updates or []) == sorted(allowed_updates)
    # The secret cannot be read back: Telegram's 401s from us say it changed, so set it again.
    refused = "401" in (info.last_error_message or "")
    if same and not refused:
        return
    await bot.set_webhook(url=url, secret_token=secret, allowed_updates=allowed_updates)
    log.info("webhook set")
