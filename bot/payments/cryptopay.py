"""Crypto Pay (@CryptoBot) API: the few calls top-ups need, over aiohttp, and webhook signatures.

Written here rather than taken from aiocryptopay (0.4.8): that library compares webhook
signatures with `==` (not in constant time), answers a bad signature with no response at all
(aiohttp turns that into a 500, so Crypto Pay keeps retrying a forged update), decodes the body
to text before hashing it, holds amounts as floats, and pins certifi below 2024. Four calls are
less code than the adapter around it would be.

Every call is a POST with a JSON body and the `Crypto-Pay-API-Token` header; the answer is
`{"ok": true, "result": ...}` or `{"ok": false, "error": {"code": ..., "name": ...}}`. Amounts
travel as decimal strings and stay `Decimal` here. The token never appears in an exception, a
log line or a repr.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)

MAINNET_URL = "https://pay.crypt.bot/api"
TESTNET_URL = "https://testnet-pay.crypt.bot/api"
TOKEN_HEADER = "Crypto-Pay-API-Token"
SIGNATURE_HEADER = "crypto-pay-api-signature"
# Crypto Pay's own bounds: invoice payloads up to 4 KB, expiry 1 s to 31 days, 1000 IDs a page.
MAX_PAYLOAD_BYTES = 4096
MAX_EXPIRES_IN = 2_678_400
MAX_PAGE = 1000
# An answer larger than this is not Crypto Pay's: refuse it instead of reading it.
MAX_ANSWER_BYTES = 8 * 1024 * 1024


class InvoiceStatus(StrEnum):
    ACTIVE = "active"
    PAID = "paid"
    EXPIRED = "expired"


class Invoice(BaseModel):
    """The fields of Crypto Pay's Invoice that top-ups read; the rest is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    invoice_id: int = Field(gt=0)
    status: str  # an unknown status is kept as written, and means "not paid"
    currency_type: str = "crypto"
    fiat: str | None = None
    asset: str | None = None
    amount: Decimal
    accepted_assets: list[str] | None = None
    paid_asset: str | None = None
    paid_amount: Decimal | None = None
    bot_invoice_url: str
    payload: str | None = None
    created_at: datetime | None = None
    expiration_date: datetime | None = None
    paid_at: datetime | None = None

    @property
    def paid(self) -> bool:
        return self.status == InvoiceStatus.PAID

    @property
    def expired(self) -> bool:
        return self.status == InvoiceStatus.EXPIRED


class Update(BaseModel):
    """A webhook update; `invoice_paid` is the only type Crypto Pay sends."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    update_id: int
    update_type: str
    request_date: datetime | None = None
    payload: Invoice


class CryptoPayError(Exception):
    """Crypto Pay could not do what was asked."""


class CryptoPayUnavailable(CryptoPayError):
    """No usable answer (network, timeout, 5xx, not JSON): the outcome of the call is unknown."""


class CryptoPayRefused(CryptoPayError):
    """Crypto Pay answered ok=false: the call did nothing."""

    def __init__(self, code: int, name: str) -> None:
        super().__init__(f"Crypto Pay refused: {code} {name}")
        self.code = code
        self.name = name


def api_url(network: str, override: str | None = None) -> str:
    if override:
        return override.rstrip("/")
    return TESTNET_URL if network == "testnet" else MAINNET_URL


def signature(token: str, body: bytes) -> str:
    """What Crypto Pay puts in `crypto-pay-api-signature`: hex HMAC-SHA256 of the raw body,
    keyed with the SHA-256 digest of the app's token."""
    key = hashlib.sha256(token.encode()).digest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_valid(token: str, body: bytes, given: str | None) -> bool:
    """Whether `given` signs `body`, compared in constant time; a missing header is invalid."""
    if not given:
        return False
    return hmac.compare_digest(signature(token, body).encode(), given.strip().lower().encode())


async def read_capped(stream: aiohttp.StreamReader, cap: int) -> bytes:
    """The stream's bytes to its end, given up once more than `cap` came (the caller refuses
    those). One `read(n)` returns only what has arrived so far: a body in several TCP segments
    was cut, and a signed update was refused as badly signed."""
    body = bytearray()
    async for chunk in stream.iter_any():
        body += chunk
        if len(body) > cap:
            break
    return bytes(body)


def parse_update(body: bytes) -> Update:
    """A webhook body as an Update; ValueError when it is not one."""
    try:
        return Update.model_validate_json(body)
    except ValidationError as exc:
        raise ValueError("not a Crypto Pay update") from exc


class CryptoPayClient:
    def __init__(self, token: str, url: str, *, timeout: float = 15.0) -> None:
        self._token = token
        self._url = url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"CryptoPayClient(url={self._url!r})"

    def signature_valid(self, body: bytes, given: str | None) -> bool:
        return signature_valid(self._token, body, given)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def create_invoice(
        self,
        *,
        fiat: str,
        amount: Decimal,
        accepted_assets: Sequence[str],
        payload: str,
        description: str,
        expires_in: int,
    ) -> Invoice:
        """An invoice for `amount` of the fiat currency, payable in any of `accepted_assets`."""
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError("payload too long")
        result = await self._call(
            "createInvoice",
            {
                "currency_type": "fiat",
                "fiat": fiat,
                "amount": str(amount),
                "accepted_assets": ",".join(accepted_assets),
                "payload": payload,
                "description": description[:1024],
                "expires_in": max(1, min(expires_in, MAX_EXPIRES_IN)),
                "allow_comments": False,
                "allow_anonymous": True,
            },
        )
        return _invoice(result)

    async def get_invoices(
        self, invoice_ids: Iterable[int], *, status: InvoiceStatus | None = None
    ) -> list[Invoice]:
        """The invoices among `invoice_ids` (optionally only those in `status`), in pages;
        an entry that is not an invoice is logged and skipped, not fatal to the rest."""
        ids = list(dict.fromkeys(invoice_ids))
        found: list[Invoice] = []
        for start in range(0, len(ids), MAX_PAGE):
            page = ids[start : start + MAX_PAGE]
            params: dict[str, Any] = {
                "invoice_ids": ",".join(str(i) for i in page),
                "count": len(page),
            }
            if status is not None:
                params["status"] = status.value
            result = await self._call("getInvoices", params)
            items = result.get("items") if isinstance(result, dict) else None
            if not isinstance(items, list):
                raise CryptoPayUnavailable("getInvoices answered without items")
            for item in items:
                try:
                    found.append(Invoice.model_validate(item))
                except ValidationError:
                    log.warning("Crypto Pay: skipped an invoice entry that is not an invoice")
        return found

    async def delete_invoice(self, invoice_id: int) -> bool:
        return bool(await self._call("deleteInvoice", {"invoice_id": invoice_id}))

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(
                f"{self._url}/{method}", json=params, headers={TOKEN_HEADER: self._token}
            ) as response:
                raw = await read_capped(response.content, MAX_ANSWER_BYTES)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CryptoPayUnavailable(f"{method}: {type(exc).__name__}") from None
        if len(raw) > MAX_ANSWER_BYTES:
            raise CryptoPayUnavailable(f"{method}: answer too large")
        try:
            answer = json.loads(raw)
        except ValueError:
            raise CryptoPayUnavailable(f"{method}: HTTP {status}, not JSON") from None
        if not isinstance(answer, dict):
            raise CryptoPayUnavailable(f"{method}: HTTP {status}, not an answer")
        if answer.get("ok") is True and "result" in answer:
            return answer["result"]
        error = answer.get("error")
        if status >= 500 or not isinstance(error, dict):
            raise CryptoPayUnavailable(f"{method}: HTTP {status}")
        code = error.get("code")
        name = error.get("name")
        raise CryptoPayRefused(
            code if isinstance(code, int) else status, str(name)[:100] if name else "unknown"
        )


def _invoice(result: Any) -> Invoice:
    try:
        return Invoice.model_validate(result)
    except ValidationError:
        raise CryptoPayUnavailable("the answer is not an invoice") from None
