"""Crypto Pay's webhook, as an aiohttp handler the webhook server mounts beside Telegram's.

The signature is checked over the raw bytes before anything is parsed: a bad or missing one
gets 401 and nothing else happens. A signed update is handed to `on_paid` before the answer,
so a crash mid-credit leaves the update unanswered and Crypto Pay sends it again (the credit is
keyed on the invoice ID: a second delivery credits nothing). A failure answers 500 for the
same reason.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.payments.cryptopay import (
    SIGNATURE_HEADER,
    Invoice,
    parse_update,
    read_capped,
    signature_valid,
)

log = logging.getLogger(__name__)

# An invoice update is a few KB; anything far larger is not Crypto Pay's.
MAX_BODY_BYTES = 256 * 1024


class CryptoPayWebhook:
    def __init__(self, token: str, on_paid: Callable[[Invoice], Awaitable[None]]) -> None:
        self._token = token
        self._on_paid = on_paid

    async def handle(self, request: web.Request) -> web.Response:
        body = await read_capped(request.content, MAX_BODY_BYTES)
        if len(body) > MAX_BODY_BYTES:
            return web.Response(status=413)
        if not signature_valid(self._token, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning("Crypto Pay webhook: a request without a valid signature was refused")
            return web.Response(status=401)
        try:
            update = parse_update(body)
        except ValueError:
            log.warning("Crypto Pay webhook: a signed request was not an update")
            return web.Response(status=400)
        if update.update_type != "invoice_paid" or not update.payload.paid:
            return web.Response()
        try:
            await self._on_paid(update.payload)
        except Exception:
            log.exception("Crypto Pay webhook: invoice %s not settled", update.payload.invoice_id)
            return web.Response(status=500)
        return web.Response()
