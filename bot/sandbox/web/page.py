"""The sandbox page's server: the static page, a JSON API for what a visitor does (as a person in
the chat, or as the panel's operator) and one server-sent-event stream of everything that changes.

The stream starts with a snapshot taken after subscribing, so no change is lost between the two;
the page applies events by id, so one already in the snapshot does no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.panel.models import is_final_order_status, is_final_refill_status
from bot.sandbox.chats import ChatMessage
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.sandbox.events import ChatEvent
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.sandbox.payments import Charge, SentInvoice
from bot.sandbox.simulator import REFILL_STATUSES, Outage, PanelSimulator
from bot.sandbox.web.markup import to_nodes

STATIC = Path(__file__).resolve().parent / "static"
LANGUAGES = ("en", "ru", "ja")
# A comment line now and then: a closed tab is noticed, and proxies keep the stream open.
KEEPALIVE_SECONDS = 15.0
# The page's own files and nothing else: injected markup could not run a script even if some
# text ever reached the DOM as HTML.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# What the page says when the bot left a pre-checkout query unanswered (Telegram's wording).
CHECKOUT_TIMEOUT = "The bot didn't respond in time. Please try again later."


@dataclass
class Visitor:
    """A person the page can act as; `key` is their own panel key (own-key mode)."""

    user_id: int
    name: str
    language: str
    key: str | None = None


class ActionRefused(Exception):
    """What the visitor asked cannot be done now (shown to them as it is)."""


class SandboxPage:
    def __init__(
        self,
        fake: FakeTelegramServer,
        sim: PanelSimulator,
        visitors: list[Visitor],
        *,
        mode: str,
        cryptopay: CryptoPaySimulator | None = None,
    ) -> None:
        """`cryptopay`: the simulated Crypto Pay whose invoices the page lets a visitor pay."""
        self.fake = fake
        self.sim = sim
        self.visitors = {visitor.user_id: visitor for visitor in visitors}
        self.mode = mode
        self.cryptopay = cryptopay
        self._streams: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        # The Host headers the page answers (None: any); see _guard.
        self._hosts: frozenset[str] | None = None
        for visitor in visitors:
            fake.person(visitor.user_id, language_code=visitor.language, first_name=visitor.name)

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the sandbox page is not started")
        return self._url

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC)
        app.router.add_get("/api/events", self._events)
        app.router.add_post("/api/people/{user_id}/{action}", self._person_action)
        app.router.add_post("/api/panel/{action}", self._panel_action)
        # Crypto Pay's side: an invoice's pay page, and paying it.
        app.router.add_get("/cryptopay/{hash}", self._cryptopay_page)
        app.router.add_get("/api/cryptopay/{hash}", self._cryptopay_invoice)
        app.router.add_post("/api/cryptopay/{hash}/pay", self._cryptopay_pay)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        shown_host = f"[{host}]" if ":" in host else host
        if host in _LOOPBACK:
            self._hosts = frozenset(f"{name}:{bound_port}" for name in _LOOPBACK_NAMES)
        self._url = f"http://{shown_host}:{bound_port}/"
        return self._url

    async def stop(self) -> None:
        for queue in self._streams:
            queue.put_nowait(None)  # open event streams end, or they would hold the shutdown
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- what the page shows --------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "type": "snapshot",
            "mode": self.mode,
            "languages": list(LANGUAGES),
            "people": [self._visitor_json(v) for v in self.visitors.values()],
            "chats": {
                str(user_id): [
                    self.message_json(user_id, m)
                    for m in self.fake.transcript(user_id, include_user=True)
                ]
                for user_id in self.visitors
            },
            "reply_keyboards": {
                str(user_id): self.fake.reply_keyboard(user_id) for user_id in self.visitors
            },
            "commands": self._commands(),
            "panel": self.panel_json(),
        }

    def _visitor_json(self, visitor: Visitor) -> dict[str, Any]:
        return {
            "id": visitor.user_id,
            "name": visitor.name,
            "language": visitor.language,
            "key": visitor.key,
            "blocked": self.fake.faults.is_blocked(visitor.user_id),
        }

    def _commands(self) -> dict[str, list[Any]]:
        """The command menu a person sees, by their language (Telegram's fallback: none)."""
        default = self.fake.commands()
        return {language: self.fake.commands(None, language) or default for language in LANGUAGES}

    def panel_json(self) -> dict[str, Any]:
        names = {str(entry.get("service")): entry.get("name") for entry in self.sim.catalogue}
        owners = {v.key: v.name for v in self.visitors.values() if v.key is not None}
        orders = [
            {
                "id": order.id,
                "service": names.get(str(order.service), str(order.service)),
                "link": order.fields.get("link") or order.fields.get("username") or "",
                "quantity": order.quantity,
                "charge": _money(order.charge),
                "status": order.status,
                "remains": order.remains,
                "final": is_final_order_status(order.status),
                "account": owners.get(order.key, "shared key"),
            }
            for order in reversed(self.sim.orders.values())
        ]
        refills = [
            {
                "id": refill.id,
                "order": refill.order_id,
                "status": refill.status,
                "final": is_final_refill_status(refill.status),
            }
            for refill in reversed(self.sim.refills.values())
        ]
        balances = [
            {
                "key": key,
                "account": owners.get(key, "shared key"),
                "amount": _money(self.sim.balance_of(key)),
            }
            for key in self.sim.keys
        ]
        return {
            "orders": orders,
            "refills": refills,
            "balances": balances,
            "outages": sorted(self.sim.outages),
            "refill_statuses": list(REFILL_STATUSES),
        }

    # --- HTTP --------------------------------------------------------------------------------

    @web.middleware
    async def _guard(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if self._hosts is not None and request.host not in self._hosts:
            # Another site whose name was pointed at 127.0.0.1 (DNS rebinding) is not this page.
            return _refusal(403, "open the page at the address the sandbox printed")
        if request.method == "POST" and request.content_type != "application/json":
            # Another site's form cannot send JSON without asking first (CORS), so it cannot act.
            return _refusal(415, "send JSON")
        response = await handler(request)
        response.headers.update(_SECURITY_HEADERS)
        return response

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _events(self, request: web.Request) -> web.StreamResponse:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        self._streams.add(queue)
        try:
            async with self.fake.events.subscribe() as chat_events:
                pumps = [
                    asyncio.create_task(self._pump_chat(chat_events, queue)),
                    asyncio.create_task(self._pump_panel(queue)),
                ]
                try:
                    await _send(response, self.snapshot())
                    while True:
                        try:
                            item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                        except TimeoutError:
                            await response.write(b": keepalive\n\n")
                            continue
                        if item is None:
                            break
                        await _send(response, item)
                except (ConnectionResetError, asyncio.CancelledError):
                    pass  # the tab was closed
                finally:
                    for pump in pumps:
                        pump.cancel()
                    await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._streams.discard(queue)
        return response

    async def _pump_chat(
        self, events: AsyncIterator[ChatEvent], queue: asyncio.Queue[dict[str, Any] | None]
    ) -> None:
        async for event in events:
            if event.chat_id is not None and event.chat_id not in self.visitors:
                continue
            item = self._event_json(event)
            if item is not None:
                queue.put_nowait(item)

    async def _pump_panel(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        while True:
            changed = self.sim.changes.next()  # taken before reading, so no change is missed
            await changed.wait()
            queue.put_nowait({"type": "panel", "panel": self.panel_json()})

    def _event_json(self, event: ChatEvent) -> dict[str, Any] | None:
        kind = event.kind.value
        if kind == "commands_changed":
            return {"type": "commands", "commands": self._commands()}
        if kind == "member_changed":
            visitor = self.visitors[event.chat_id] if event.chat_id is not None else None
            return None if visitor is None else {"type": "person", **self._visitor_json(visitor)}
        item: dict[str, Any] = {"type": "chat", "kind": kind, "chat": event.chat_id}
        if event.message is not None:
            item["message"] = self.message_json(event.chat_id, event.message)
        if kind == "message_sent" and event.message is not None and event.message.from_bot:
            item["reply_keyboard"] = event.details.get("reply_keyboard")
        elif kind == "callback_answered":
            item["text"] = event.details.get("text") or ""
            item["alert"] = bool(event.details.get("show_alert"))
        elif kind == "chat_action":
            item["action"] = event.details.get("action")
        return item

    async def _person_action(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        try:
            visitor = self.visitors[int(request.match_info["user_id"])]
        except (KeyError, ValueError):
            return _refusal(404, "no such person")
        person = self.fake.person(visitor.user_id, language_code=visitor.language)
        action = request.match_info["action"]
        try:
            if action == "send":
                text = _text(body, "text")
                if not text.strip():
                    raise ActionRefused("write something first")
                person.send_text(text)
            elif action == "press":
                person.press(_int(body, "message_id"), _text(body, "data"))
            elif action == "language":
                language = _text(body, "language")
                if language not in LANGUAGES:
                    raise ActionRefused(f"languages: {', '.join(LANGUAGES)}")
                visitor.language = language
                self.fake.person(visitor.user_id, language_code=language)
            elif action == "stop":
                person.leave()
            elif action == "restart":
                person.rejoin()
            elif action == "pay":
                checkout = await self.fake.payments.pay(visitor.user_id, _int(body, "message_id"))
                if not checkout.ok:
                    # Telegram shows the bot's reason (or its own, on no answer) over the form.
                    refusal = checkout.error_message or CHECKOUT_TIMEOUT
                    return web.json_response(
                        {"ok": True, "person": self._visitor_json(visitor), "refusal": refusal}
                    )
            else:
                return _refusal(404, "no such action")
        except ActionRefused as exc:
            return _refusal(409, str(exc))
        except LookupError:
            return _refusal(409, "that message or button is gone")
        return web.json_response({"ok": True, "person": self._visitor_json(visitor)})

    def message_json(self, chat_id: int | None, message: ChatMessage) -> dict[str, Any]:
        payments = self.fake.payments
        key = (chat_id or 0, message.message_id)
        return message_json(message, payments.invoices.get(key), payments.service_messages.get(key))

    # --- Crypto Pay's pay page -----------------------------------------------------------------

    def _sim_invoice(self, request: web.Request) -> Any:
        if self.cryptopay is None:
            raise web.HTTPNotFound()
        try:
            return self.cryptopay.by_hash(request.match_info["hash"])
        except LookupError:
            raise web.HTTPNotFound() from None

    async def _cryptopay_page(self, request: web.Request) -> web.FileResponse:
        self._sim_invoice(request)
        return web.FileResponse(STATIC / "cryptopay.html")

    async def _cryptopay_invoice(self, request: web.Request) -> web.Response:
        invoice = self._sim_invoice(request)
        return web.json_response(
            {
                "ok": True,
                "invoice": {
                    "description": invoice.description,
                    "amount": _money(invoice.amount),
                    "fiat": invoice.fiat,
                    "assets": invoice.accepted_assets,
                    "status": invoice.status,
                    "paid_asset": invoice.paid_asset,
                },
            }
        )

    async def _cryptopay_pay(self, request: web.Request) -> web.Response:
        invoice = self._sim_invoice(request)
        assert self.cryptopay is not None
        body = await _json_body(request)
        try:
            asset = _text(body, "asset")
            if asset not in invoice.accepted_assets:
                raise ActionRefused("this invoice does not take that asset")
            await self.cryptopay.pay(invoice.invoice_id, asset)
        except (ActionRefused, ValueError) as exc:
            return _refusal(409, str(exc))
        return await self._cryptopay_invoice(request)

    async def _panel_action(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        action = request.match_info["action"]
        sim = self.sim
        try:
            if action == "start":
                sim.start_order(_int(body, "order"), start_count=_int(body, "start_count", 0))
            elif action == "partial":
                sim.partial_order(_int(body, "order"), _int(body, "remains"))
            elif action == "complete":
                sim.complete_order(_int(body, "order"))
            elif action == "cancel":
                sim.cancel_order(_int(body, "order"))
            elif action == "advance_refill":
                sim.advance_refill(_int(body, "refill"))
            elif action == "set_refill":
                status = _text(body, "status")
                if status not in REFILL_STATUSES:
                    raise ActionRefused(f"refill statuses: {', '.join(REFILL_STATUSES)}")
                sim.set_refill(_int(body, "refill"), status)
            elif action == "balance":
                key = _text(body, "key")
                if key not in sim.keys:
                    raise ActionRefused("no such panel account")
                sim.set_balance(key, _amount(body, "amount"))
            elif action == "outage":
                sim.switch_outage(Outage(_text(body, "outage")), bool(body.get("on")))
            else:
                return _refusal(404, "no such action")
        except (ActionRefused, ValueError) as exc:
            return _refusal(409, str(exc))
        except KeyError:
            return _refusal(409, "no such order or refill")
        return web.json_response({"ok": True})


def message_json(
    message: ChatMessage,
    invoice: SentInvoice | None = None,
    service: tuple[str, Charge] | None = None,
) -> dict[str, Any]:
    """A chat message as the page draws it: text as nodes (see markup), buttons as rows; an
    invoice's terms and a payment's service line as plain strings (the bot's, so untrusted)."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    if invoice is not None and not rows:
        # Telegram's own button under a Stars invoice.
        rows = [[{"text": f"Pay ⭐️{invoice.total_amount}", "pay": True}]]
    extra: dict[str, Any] = {}
    if invoice is not None:
        extra["invoice"] = {
            "title": invoice.title,
            "description": invoice.description,
            "stars": invoice.total_amount,
        }
    if service is not None:
        kind, charge = service
        extra["service"] = {"kind": kind, "stars": charge.total_amount}
    return {
        **extra,
        "id": message.message_id,
        "from_bot": message.from_bot,
        "nodes": to_nodes(message.raw_text, message.parse_mode if message.from_bot else None),
        "media": message.media,
        "edited": message.edit_date is not None,
        "date": message.date,
        "buttons": [
            [
                {
                    "text": str(button.get("text", "")),
                    "data": button.get("callback_data"),
                    "url": button.get("url"),
                    "pay": bool(button.get("pay")),
                }
                for button in row
            ]
            for row in rows
        ],
    }


def _money(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.0001")).normalize(), "f")


async def _send(response: web.StreamResponse, item: dict[str, Any]) -> None:
    data = json.dumps(item, ensure_ascii=False, default=str)
    await response.write(f"data: {data}\n\n".encode())


async def _json_body(request: web.Request) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        body = await request.json()
        if isinstance(body, dict):
            return body
    return {}


def _refusal(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise ActionRefused(f"{name} is missing")
    return value


def _int(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    try:
        return int(str(value))
    except ValueError:
        raise ActionRefused(f"{name} must be a whole number") from None


def _amount(body: dict[str, Any], name: str) -> Decimal:
    try:
        amount = Decimal(str(body.get(name)))
    except InvalidOperation:
        raise ActionRefused(f"{name} must be a number") from None
    if not amount.is_finite() or amount < 0:
        raise ActionRefused(f"{name} must be a number, 0 or more")
    return amount
