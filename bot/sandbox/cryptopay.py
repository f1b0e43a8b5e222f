"""A Crypto Pay simulator: an aiohttp server speaking the part of Crypto Pay's API top-ups use
(createInvoice, getInvoices, deleteInvoice, getMe), for tests and the sandbox.

Invoices are in fiat with accepted assets, as the bot creates them. The operator side pays or
expires an invoice on demand (`pay`, `expire`) and, when a webhook URL is set, POSTs a signed
`invoice_paid` update to it, recording each delivery's HTTP status (`deliveries`). `fail_next`
makes the next calls answer 500, as an outage would. Point the bot at it with
`CRYPTOPAY_API_URL=<sim.url>`. The simulator serves no pay page itself: invoices' pay URLs are
`<pay_page_url>/<hash>`, where the sandbox page serves one (bot/sandbox/web/page.py).
"""

from __future__ import annotations

import itertools
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
from aiohttp import web

from bot.payments.cryptopay import (
    MAX_EXPIRES_IN,
    MAX_PAGE,
    MAX_PAYLOAD_BYTES,
    SIGNATURE_HEADER,
    TOKEN_HEADER,
    InvoiceStatus,
    signature,
)

DEFAULT_TOKEN = "12345:AAsimulatedCryptoPayToken"
KNOWN_ASSETS = frozenset({"USDT", "TON", "BTC", "ETH", "LTC", "BNB", "TRX", "USDC"})


@dataclass
class SimInvoice:
    invoice_id: int
    hash: str
    fiat: str
    amount: Decimal
    accepted_assets: list[str]
    payload: str
    description: str
    created_at: datetime
    expiration_date: datetime | None
    status: str = InvoiceStatus.ACTIVE.value
    paid_asset: str | None = None
    paid_amount: Decimal | None = None
    paid_at: datetime | None = None

    def json(self, pay_url: str) -> dict[str, Any]:
        """`pay_url`: where a person pays invoices (the hash is appended)."""
        data: dict[str, Any] = {
            "invoice_id": self.invoice_id,
            "hash": self.hash,
            "currency_type": "fiat",
            "fiat": self.fiat,
            "amount": str(self.amount),
            "accepted_assets": self.accepted_assets,
            "bot_invoice_url": f"{pay_url}/{self.hash}",
            "mini_app_invoice_url": f"{pay_url}/{self.hash}?mode=compact",
            "web_app_invoice_url": f"{pay_url}/{self.hash}",
            "description": self.description,
            "status": self.status,
            "created_at": _iso(self.created_at),
            "allow_comments": False,
            "allow_anonymous": True,
            "payload": self.payload,
        }
        if self.expiration_date is not None:
            data["expiration_date"] = _iso(self.expiration_date)
        if self.paid_at is not None:
            data.update(
                paid_at=_iso(self.paid_at),
                paid_asset=self.paid_asset,
                paid_amount=str(self.paid_amount),
                paid_fiat_rate="1.00",
                paid_anonymously=True,
            )
        return data


@dataclass
class Delivery:
    invoice_id: int
    status: int  # the receiver's HTTP status; 0 when it could not be reached


@dataclass
class _Calls:
    by_method: dict[str, int] = field(default_factory=dict)
    # The invoice IDs each getInvoices named (None: it named none, so asked about all).
    invoices_asked: list[frozenset[int] | None] = field(default_factory=list)

    def count(self, method: str) -> int:
        return self.by_method.get(method, 0)


class CryptoPaySimulator:
    def __init__(self, token: str = DEFAULT_TOKEN, *, first_invoice_id: int = 1001) -> None:
        self.token = token
        self.invoices: dict[int, SimInvoice] = {}
        self.webhook_url: str | None = None
        self.deliveries: list[Delivery] = []
        self.calls = _Calls()
        self._failures = 0
        self._ids = itertools.count(first_invoice_id)
        self._update_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        # Where a person pays an invoice (the hash is appended); default: under the API's host.
        self.pay_page_url: str | None = None
        self._client: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """The API's base URL (what CRYPTOPAY_API_URL takes)."""
        if self._url is None:
            raise RuntimeError("CryptoPaySimulator is not started")
        return self._url + "/api"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> CryptoPaySimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- the operator's side ------------------------------------------------------------------

    def fail_next(self, count: int = 1) -> None:
        """The next `count` API calls answer 500 and do nothing."""
        self._failures += count

    def by_hash(self, invoice_hash: str) -> SimInvoice:
        """The invoice whose pay URL ends in `invoice_hash`."""
        found = [i for i in self.invoices.values() if i.hash == invoice_hash]
        if not found:
            raise LookupError("no invoice has that hash")
        return found[0]

    def by_payload(self, payload: str) -> SimInvoice:
        """The newest invoice carrying `payload` (the bot's top-up ID)."""
        found = [i for i in self.invoices.values() if i.payload == payload]
        if not found:
            raise LookupError(f"no invoice carries payload {payload!r}")
        return found[-1]

    async def pay(
        self, invoice_id: int, asset: str | None = None, *, notify: bool = True
    ) -> SimInvoice:
        """The person pays: the invoice turns paid, and (`notify`, a webhook URL set) a signed
        `invoice_paid` update is POSTed. Paying a paid or expired invoice is refused, as in
        Crypto Bot."""
        invoice = self.invoices[invoice_id]
        if invoice.status != InvoiceStatus.ACTIVE:
            raise ValueError(f"invoice {invoice_id} is {invoice.status}")
        invoice.status = InvoiceStatus.PAID.value
        invoice.paid_asset = asset or invoice.accepted_assets[0]
        invoice.paid_amount = invoice.amount
        invoice.paid_at = datetime.now(UTC)
        if notify and self.webhook_url:
            await self.deliver(invoice_id)
        return invoice

    def expire(self, invoice_id: int) -> SimInvoice:
        invoice = self.invoices[invoice_id]
        if invoice.status != InvoiceStatus.ACTIVE:
            raise ValueError(f"invoice {invoice_id} is {invoice.status}")
        invoice.status = InvoiceStatus.EXPIRED.value
        return invoice

    def update_body(self, invoice_id: int) -> bytes:
        """The body of an `invoice_paid` update for the invoice, as Crypto Pay sends it."""
        update = {
            "update_id": next(self._update_ids),
            "update_type": "invoice_paid",
            "request_date": _iso(datetime.now(UTC)),
            "payload": self.invoices[invoice_id].json(self._pay_url()),
        }
        return json.dumps(update).encode()

    async def deliver(
        self, invoice_id: int, *, body: bytes | None = None, sign_with: str | None = None
    ) -> int:
        """POST the invoice's update to the webhook URL (again, if it was delivered before);
        `sign_with` signs with another token (a forger's). Returns the receiver's status."""
        if self.webhook_url is None:
            raise RuntimeError("no webhook URL set")
        body = body if body is not None else self.update_body(invoice_id)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(sign_with or self.token, body),
        }
        return await self.post_raw(invoice_id, body, headers)

    async def post_raw(self, invoice_id: int, body: bytes, headers: dict[str, str]) -> int:
        """POST exactly `body` with exactly `headers` to the webhook URL (forgeries, replays)."""
        assert self.webhook_url is not None
        if self._client is None:
            # A connection per delivery: a kept-alive one to a bot that restarted meanwhile
            # would fail the next delivery, which Crypto Pay's own deliveries do not.
            self._client = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=10),
                connector=aiohttp.TCPConnector(force_close=True),
            )
        try:
            async with self._client.post(self.webhook_url, data=body, headers=headers) as answer:
                status = answer.status
        except aiohttp.ClientError:
            status = 0
        self.deliveries.append(Delivery(invoice_id, status))
        return status

    def _pay_url(self) -> str:
        return (self.pay_page_url or f"{self._url or ''}/pay").rstrip("/")

    # --- the API ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.by_method[method] = self.calls.count(method) + 1
        if self._failures:
            self._failures -= 1
            return web.Response(status=500, text="Internal Server Error")
        if request.headers.get(TOKEN_HEADER) != self.token:
            return _error(401, "UNAUTHORIZED")
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "BAD_REQUEST")
            if isinstance(body, dict):
                params.update(body)
        handler = {
            "getMe": self._get_me,
            "createInvoice": self._create_invoice,
            "getInvoices": self._get_invoices,
            "deleteInvoice": self._delete_invoice,
        }.get(method)
        if handler is None:
            return _error(405, "METHOD_NOT_FOUND")
        try:
            return web.json_response({"ok": True, "result": handler(params)})
        except _Refused as refused:
            return _error(400, refused.name)

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "app_id": 1,
            "name": "Simulated shop",
            "payment_processing_bot_username": "CryptoBot",
        }

    def _create_invoice(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("currency_type") != "fiat":
            raise _Refused("CURRENCY_TYPE_INVALID")  # the bot only creates fiat invoices
        fiat = params.get("fiat")
        if not isinstance(fiat, str) or len(fiat) != 3 or not fiat.isalpha():
            raise _Refused("FIAT_INVALID")
        try:
            amount = Decimal(str(params.get("amount")))
        except InvalidOperation:
            raise _Refused("AMOUNT_INVALID") from None
        if not amount.is_finite() or amount <= 0:
            raise _Refused("AMOUNT_INVALID")
        assets = [a.strip().upper() for a in str(params.get("accepted_assets") or "").split(",")]
        if not assets or any(a not in KNOWN_ASSETS for a in assets):
            raise _Refused("ACCEPTED_ASSETS_INVALID")
        payload = str(params.get("payload") or "")
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            raise _Refused("PAYLOAD_TOO_LONG")
        expires_in = params.get("expires_in")
        if expires_in is not None and (
            not isinstance(expires_in, int) or not 1 <= expires_in <= MAX_EXPIRES_IN
        ):
            raise _Refused("EXPIRES_IN_INVALID")
        now = datetime.now(UTC)
        invoice = SimInvoice(
            invoice_id=next(self._ids),
            hash="IV" + secrets.token_hex(6),
            fiat=fiat.upper(),
            amount=amount,
            accepted_assets=assets,
            payload=payload,
            description=str(params.get("description") or ""),
            created_at=now,
            expiration_date=now + timedelta(seconds=expires_in) if expires_in else None,
        )
        self.invoices[invoice.invoice_id] = invoice
        return invoice.json(self._pay_url())

    def _get_invoices(self, params: dict[str, Any]) -> dict[str, Any]:
        chosen = list(self.invoices.values())
        raw_ids = params.get("invoice_ids")
        wanted: frozenset[int] | None = None
        if raw_ids:
            try:
                wanted = frozenset(int(part) for part in str(raw_ids).split(",") if part.strip())
            except ValueError:
                raise _Refused("INVOICE_IDS_INVALID") from None
            chosen = [i for i in chosen if i.invoice_id in wanted]
        self.calls.invoices_asked.append(wanted)
        status = params.get("status")
        if status:
            if status not in (InvoiceStatus.ACTIVE, InvoiceStatus.PAID):
                raise _Refused("STATUS_INVALID")  # Crypto Pay filters on these two only
            chosen = [i for i in chosen if i.status == status]
        offset = int(params.get("offset") or 0)
        count = int(params.get("count") or 100)
        if not 1 <= count <= MAX_PAGE:
            raise _Refused("COUNT_INVALID")
        page = chosen[::-1][offset : offset + count]  # newest first, as Crypto Pay lists them
        return {"items": [i.json(self._pay_url()) for i in page]}

    def _delete_invoice(self, params: dict[str, Any]) -> bool:
        invoice_id = params.get("invoice_id")
        if not isinstance(invoice_id, int) or invoice_id not in self.invoices:
            raise _Refused("INVOICE_NOT_FOUND")
        del self.invoices[invoice_id]
        return True


class _Refused(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _error(code: int, name: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "name": name}}, status=code)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
