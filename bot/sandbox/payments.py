"""Telegram Stars in the fake Bot API: the bot's methods (sendInvoice, answerPreCheckoutQuery,
refundStarPayment) and the person's side of paying (`pay`), as Telegram runs them.

Paying is Telegram's two steps: a `pre_checkout_query` update the bot must answer (within
`answer_timeout`, Telegram's 10 s), then, only if it answered ok, a message from the person
carrying `successful_payment` with a new `telegram_payment_charge_id`. `replay` queues a
payment's update again (a duplicated delivery); `announce_refund` queues the
`refunded_payment` message Telegram sends when Stars go back.

Only digital goods in Stars are accepted: currency XTR, no provider token, exactly one price
in whole Stars, a payload of 1 to 128 bytes.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any

from bot.sandbox.chats import ChatBook
from bot.sandbox.events import EventFeed, EventKind
from bot.sandbox.rules import bad_request, check_reply_markup
from bot.sandbox.updates import UpdateQueue

STARS = "XTR"
MAX_PAYLOAD_BYTES = 128
# Form fields of these methods that aiogram sends as plain strings (never JSON-decoded: a
# payload "42" stays the text "42").
STRING_FIELDS = frozenset(
    {
        "payload",
        "currency",
        "provider_token",
        "start_parameter",
        "pre_checkout_query_id",
        "error_message",
        "telegram_payment_charge_id",
    }
)
_QUERY_GONE = "query is too old and response timeout expired or query ID is invalid"

_query_ids = itertools.count(7_000_000_000_000_000_001)
_charge_ids = itertools.count(1)


@dataclass(frozen=True)
class SentInvoice:
    chat_id: int
    message_id: int
    title: str
    payload: str
    currency: str
    total_amount: int
    description: str = ""


@dataclass
class Charge:
    charge_id: str
    user_id: int
    payload: str
    currency: str
    total_amount: int
    refunded: bool = False

    def json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "total_amount": self.total_amount,
            "invoice_payload": self.payload,
            "telegram_payment_charge_id": self.charge_id,
            "provider_payment_charge_id": "",
        }


@dataclass(frozen=True)
class Checkout:
    """How a payment went: `charge` when it went through; `error_message` the bot's reason
    when it answered ok=false; neither when the bot did not answer in time."""

    ok: bool
    charge: Charge | None = None
    error_message: str | None = None


class StarsPayments:
    def __init__(
        self, chats: ChatBook, updates: UpdateQueue, events: EventFeed, answer_timeout: float
    ) -> None:
        self._chats = chats
        self._updates = updates
        self._events = events
        self.answer_timeout = answer_timeout
        self.invoices: dict[tuple[int, int], SentInvoice] = {}
        self.charges: dict[str, Charge] = {}
        # The person's service messages ("successful_payment", "refunded_payment") by (chat,
        # message id), so that a chat can be drawn as Telegram draws them.
        self.service_messages: dict[tuple[int, int], tuple[str, Charge]] = {}
        self._waiting: dict[str, asyncio.Future[tuple[bool, str | None]]] = {}

    def methods(self) -> dict[str, Any]:
        return {
            "sendInvoice": self._send_invoice,
            "answerPreCheckoutQuery": self._answer_pre_checkout_query,
            "refundStarPayment": self._refund_star_payment,
        }

    # --- the person ---------------------------------------------------------------------------

    async def pay(self, user_id: int, message_id: int) -> Checkout:
        """The person presses Pay on the invoice the bot sent as `message_id`."""
        invoice = self.invoices.get((user_id, message_id))
        if invoice is None:
            raise LookupError(f"chat {user_id} shows no invoice {message_id}")
        return await self.checkout(user_id, invoice.payload, invoice.currency, invoice.total_amount)

    async def checkout(self, user_id: int, payload: str, currency: str, total: int) -> Checkout:
        """Pay an invoice with exactly these terms (any payload: a stale or forged invoice)."""
        query_id = str(next(_query_ids))
        answered: asyncio.Future[tuple[bool, str | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[query_id] = answered
        self._updates.add(
            {
                "pre_checkout_query": {
                    "id": query_id,
                    "from": self._chats.remember(user_id),
                    "currency": currency,
                    "total_amount": total,
                    "invoice_payload": payload,
                }
            }
        )
        try:
            async with asyncio.timeout(self.answer_timeout):
                ok, error_message = await answered
        except TimeoutError:
            return Checkout(ok=False)
        finally:
            self._waiting.pop(query_id, None)
        if not ok:
            return Checkout(ok=False, error_message=error_message)
        charge = Charge(f"stxfake{next(_charge_ids):08d}", user_id, payload, currency, total)
        self.charges[charge.charge_id] = charge
        self._service_message(charge, "successful_payment")
        return Checkout(ok=True, charge=charge)

    def replay(self, charge_id: str) -> int:
        """Queue the payment's `successful_payment` message again; the update's id."""
        charge = self.charges[charge_id]
        return self._service_message(charge, "successful_payment")

    def announce_refund(self, charge_id: str) -> int:
        """Queue the `refunded_payment` message for a charge (refunded or not); the update id."""
        charge = self.charges[charge_id]
        return self._service_message(charge, "refunded_payment")

    def refund_outside(self, charge_id: str) -> int:
        """The Stars go back without the bot asking (Telegram support): the update's id."""
        self.charges[charge_id].refunded = True
        return self.announce_refund(charge_id)

    # --- the bot's methods --------------------------------------------------------------------

    def _send_invoice(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise bad_request("chat not found")
        title = params.get("title")
        description = params.get("description")
        payload = params.get("payload")
        if not isinstance(title, str) or not 1 <= len(title) <= 32:
            raise bad_request("INVOICE_TITLE_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= 255:
            raise bad_request("INVOICE_DESCRIPTION_INVALID")
        if not isinstance(payload, str) or not 1 <= len(payload.encode()) <= MAX_PAYLOAD_BYTES:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        if params.get("currency") != STARS:
            raise bad_request("CURRENCY_INVALID")
        if params.get("provider_token"):
            raise bad_request("PROVIDER_TOKEN_INVALID: Stars invoices take no provider token")
        prices = params.get("prices")
        if (
            not isinstance(prices, list)
            or len(prices) != 1
            or not isinstance(prices[0], dict)
            or not isinstance(prices[0].get("label"), str)
            or not isinstance(prices[0].get("amount"), int)
            or isinstance(prices[0].get("amount"), bool)
            or prices[0]["amount"] < 1
        ):
            raise bad_request("STARS_INVOICE_INVALID: exactly one price in whole Stars")
        markup = params.get("reply_markup")
        check_reply_markup(markup)
        chat = self._chats.chat(chat_id)
        message = chat.add(
            from_bot=True,
            text=f"{title}\n{description}",
            raw_text=f"{title}\n{description}",
            reply_markup=markup if isinstance(markup, dict) else None,
            date=int(time.time()),
        )
        total = int(prices[0]["amount"])
        self.invoices[(chat_id, message.message_id)] = SentInvoice(
            chat_id, message.message_id, title, payload, STARS, total, description
        )
        self._events.publish(EventKind.MESSAGE_SENT, chat_id, message)
        data = self._chats.message_json(chat, message)
        data.pop("text", None)
        data["invoice"] = {
            "title": title,
            "description": description,
            "start_parameter": params.get("start_parameter") or "",
            "currency": STARS,
            "total_amount": total,
        }
        return data

    def _answer_pre_checkout_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("pre_checkout_query_id")
        answered = self._waiting.get(query_id) if isinstance(query_id, str) else None
        if answered is None or answered.done():
            raise bad_request(_QUERY_GONE)
        ok = params.get("ok")
        if not isinstance(ok, bool):
            raise bad_request('parameter "ok" is required')
        error_message = params.get("error_message")
        if not ok and not (isinstance(error_message, str) and error_message.strip()):
            raise bad_request("error_message is required when ok is false")
        answered.set_result((ok, error_message if not ok else None))
        return True

    def _refund_star_payment(self, params: dict[str, Any]) -> bool:
        charge = self.charges.get(params.get("telegram_payment_charge_id"))  # type: ignore[arg-type]
        if charge is None or params.get("user_id") != charge.user_id:
            raise bad_request("CHARGE_NOT_FOUND")
        if charge.refunded:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        charge.refunded = True
        return True

    def _service_message(self, charge: Charge, kind: str) -> int:
        user_id = charge.user_id
        chat = self._chats.chat(user_id)
        message = chat.add(from_bot=False, text="", raw_text="", date=int(time.time()))
        self.service_messages[(user_id, message.message_id)] = (kind, charge)
        self._events.publish(EventKind.MESSAGE_SENT, user_id, message)
        return self._updates.add(
            {
                "message": {
                    "message_id": message.message_id,
                    "from": self._chats.remember(user_id),
                    "chat": chat.json(),
                    "date": message.date,
                    kind: charge.json(),
                }
            }
        )
