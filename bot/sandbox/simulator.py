"""An in-memory SMM panel speaking API v2 over real HTTP, for tests and the sandbox.

Two sides: the API a bot calls (`/api/v2`), and the operator's side, plain methods that move
orders and refills through their statuses, set balances and switch outages on and off (what the
sandbox page's panel column calls).

Behaviour choices (documented because real panels differ):
- `cancel` acts at once: the order becomes "Canceled" and its charge goes back to the balance.
- An order that ends Partial gets the undelivered share of its charge back
  (`charge × remains / quantity`); one that ends Canceled gets all of it back.
- A Subscriptions order costs `rate × max / 1000` per post (`posts`, at least 1).
- Package and Custom Comments Package orders cost `rate` (one package).
- More than 100 IDs in a multi request is refused with "Incorrect request".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from types import MappingProxyType, TracebackType
from typing import Any, Self

from aiohttp import web

from bot.panel.models import ServiceType, canonical_status, is_final_order_status
from bot.sandbox.events import Changes


class Outage(StrEnum):
    """Faults the operator switches on and off (unlike `fail_next`, which counts requests)."""

    DOWN = "down"  # every connection is dropped without an answer
    SLOW = "slow"  # every answer waits `slow_seconds` first
    HTML = "html"  # every request gets the HTML page of a 500 error


FAULTS = frozenset(
    {
        "html_500",
        "html_200",
        "empty",
        "garbage",
        "hang",
        "hang_after",
        "reset",
        "error",
        "http_429",
        "json_4xx",
    }
)
DEMO_KEY = "demo-key"
MULTI_LIMIT = 100
HANG_SECONDS = 3600.0

INVALID_KEY = "Invalid API key"
INCORRECT_REQUEST = "Incorrect request"
INCORRECT_SERVICE = "Incorrect service ID"
INCORRECT_ORDER = "Incorrect order ID"
NOT_ENOUGH_FUNDS = "Not enough funds on balance"
BAD_LINK = "Bad link"
LINK_DUPLICATE = "You have active order with this link. Please wait until order being completed."
NOT_ELIGIBLE_REFILL = "Order not eligible for refill."
REFILL_NOT_FOUND = "Refill not found"
CANNOT_CANCEL = "Order cannot be canceled."

_LINK = re.compile(r"(https?://)?([a-z0-9-]+\.)+[a-z]{2,}(:\d+)?(/\S*)?", re.IGNORECASE)

_HTML_500 = (
    "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
    "<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
REFILL_STATUSES = ("Pending", "In progress", "Completed", "Rejected", "Error")
# The order in which `advance_refill` moves a refill.
_REFILL_STEPS = {"pending": "In progress", "in_progress": "Completed"}
_HTML_CHALLENGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
    "<h1>Checking if the site connection is secure</h1></div></body></html>"
)
_GARBAGE = 'Notice: Undefined index: orders in /var/www/panel/api/v2.php on line 42\n{"1":'

# Which form fields each type needs, and where its quantity comes from: a form field, the
# number of lines of a list field, or "package" (one unit priced at `rate`).
_RULES: dict[ServiceType, tuple[tuple[str, ...], str]] = {
    ServiceType.DEFAULT: (("link", "quantity"), "quantity"),
    ServiceType.PACKAGE: (("link",), "package"),
    ServiceType.CUSTOM_COMMENTS: (("link", "comments"), "comments"),
    ServiceType.CUSTOM_COMMENTS_PACKAGE: (("link", "comments"), "package"),
    ServiceType.MENTIONS: (("link", "quantity", "usernames"), "quantity"),
    ServiceType.MENTIONS_WITH_HASHTAGS: (
        ("link", "quantity", "usernames", "hashtags"),
        "quantity",
    ),
    ServiceType.MENTIONS_CUSTOM_LIST: (("link", "usernames"), "usernames"),
    ServiceType.MENTIONS_HASHTAG: (("link", "quantity", "hashtag"), "quantity"),
    ServiceType.MENTIONS_USER_FOLLOWERS: (("link", "quantity", "username"), "quantity"),
    ServiceType.MENTIONS_MEDIA_LIKERS: (("link", "quantity", "media"), "quantity"),
    ServiceType.COMMENT_LIKES: (("link", "quantity", "username"), "quantity"),
    ServiceType.COMMENT_REPLIES: (("link", "username", "comments"), "comments"),
    ServiceType.POLL: (("link", "quantity", "answer_number"), "quantity"),
    ServiceType.INVITES_FROM_GROUPS: (("link", "quantity", "groups"), "quantity"),
    ServiceType.SUBSCRIPTIONS: (("username", "min", "max"), "max"),
    ServiceType.WEB_TRAFFIC: (("link", "quantity"), "quantity"),
}


@dataclass
class SimOrder:
    id: int
    key: str
    service: int
    fields: dict[str, str]
    quantity: int
    charge: Decimal
    status: str = "Pending"
    start_count: int | None = 0
    remains: int | None = None
    currency: str = "USD"


@dataclass
class SimRefill:
    id: int
    order_id: int
    key: str
    status: str = "Pending"


@dataclass
class _Fault:
    kind: str
    remaining: int
    action: str | None
    message: str
    passes: int = 0  # requests let through before it strikes


@dataclass(frozen=True)
class _Offer:
    """The parts of a catalogue entry the simulator checks orders against."""

    id: int
    kind: ServiceType
    rate: Decimal
    min: int
    max: int
    refill: bool
    cancel: bool
    dripfeed: bool

    @classmethod
    def parse(cls, entry: Mapping[str, Any]) -> _Offer | None:
        try:
            return cls(
                id=int(str(entry["service"])),
                kind=ServiceType.parse(str(entry.get("type", ""))) or ServiceType.DEFAULT,
                rate=Decimal(str(entry["rate"])),
                min=int(str(entry["min"])),
                max=int(str(entry["max"])),
                refill=_truthy(entry.get("refill")),
                cancel=_truthy(entry.get("cancel")),
                dripfeed=_truthy(entry.get("dripfeed")),
            )
        except (KeyError, ValueError, InvalidOperation):
            return None


class _Rejected(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true"}


def _int(raw: str | None, *, minimum: int = 0) -> int:
    try:
        number = int((raw or "").strip())
    except ValueError:
        raise _Rejected(INCORRECT_REQUEST) from None
    if number < minimum:
        raise _Rejected(INCORRECT_REQUEST)
    return number


def _lines(raw: str) -> list[str]:
    return [line for line in raw.splitlines() if line.strip()]


class PanelSimulator:
    def __init__(
        self,
        *,
        services: list[dict[str, Any]] | None = None,
        keys: Mapping[str, Decimal | int] | None = None,
        numbers_as_strings: bool = True,
        bare_string_errors: bool = False,
        auto_progress: bool = False,
        refuse_duplicate_links: bool = False,
    ) -> None:
        self._catalogue = default_catalogue() if services is None else services
        self._offers = {
            offer.id: offer for offer in map(_Offer.parse, self._catalogue) if offer is not None
        }
        self._balances = {
            key: Decimal(amount)
            for key, amount in ({DEMO_KEY: Decimal(100)} if keys is None else keys).items()
        }
        self.numbers_as_strings = numbers_as_strings
        self.bare_string_errors = bare_string_errors
        self.auto_progress = auto_progress
        self.refuse_duplicate_links = refuse_duplicate_links
        self._orders: dict[int, SimOrder] = {}
        self._refills: dict[int, SimRefill] = {}
        self._next_order = 1000
        self._next_refill = 500
        self._faults: list[_Fault] = []
        self._outages: set[Outage] = set()
        self.slow_seconds = 3.0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._stopping = asyncio.Event()
        self._slow_ended = asyncio.Event()  # set (and renewed) when a slow outage ends
        self._request_seen = asyncio.Condition()
        # Set after every answered request and operator move: the sandbox page's panel column
        # redraws on it instead of polling.
        self.changes = Changes()
        self._app = web.Application()
        self._app.router.add_post("/api/v2", self._handle)
        self._app.router.add_post("/api/v2/", self._handle)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    @staticmethod
    def big_catalogue(n: int) -> list[dict[str, Any]]:
        return big_catalogue(n)

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def app(self) -> web.Application:
        return self._app

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("simulator not started")
        return self._url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._stopping.clear()
        self._runner = web.AppRunner(self._app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self._url = f"http://{host}:{bound_port}/api/v2"
        return self._url

    async def stop(self) -> None:
        # Release hanging handlers first, or shutdown would wait for them.
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._url = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- the operator's side ------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        """The API keys the panel knows, each with its own balance."""
        return list(self._balances)

    def set_balance(self, key: str, amount: Decimal | int) -> None:
        self._balances[key] = Decimal(amount)
        self.changes.notify()

    def balance_of(self, key: str) -> Decimal:
        return self._balances[key]

    def start_order(self, order_id: int, *, start_count: int = 0) -> SimOrder:
        """Pending → In progress."""
        self._open_order(order_id)
        self.set_order(order_id, status="In progress", start_count=start_count)
        return self._orders[order_id]

    def complete_order(self, order_id: int) -> SimOrder:
        """Everything delivered: Completed, nothing remains."""
        self._open_order(order_id)
        self.set_order(order_id, status="Completed", remains=0)
        return self._orders[order_id]

    def partial_order(self, order_id: int, remains: int) -> SimOrder:
        """Delivered but `remains`: Partial, the undelivered share refunded to the balance."""
        order = self._open_order(order_id)
        if not 0 < remains < order.quantity:
            raise ValueError(f"remains must be between 1 and {order.quantity - 1}")
        self.set_order(order_id, status="Partial", remains=remains)
        self._refund(order)
        return order

    def cancel_order(self, order_id: int) -> SimOrder:
        """Canceled by the panel, its whole charge refunded (whatever the service allows)."""
        order = self._open_order(order_id)
        self.set_order(order_id, status="Canceled")
        self._refund(order)
        return order

    def advance_refill(self, refill_id: int) -> SimRefill:
        """Pending → In progress → Completed, one step a call."""
        refill = self._refills[refill_id]
        step = _REFILL_STEPS.get(canonical_status(refill.status) or "")
        if step is None:
            raise ValueError(f"refill {refill_id} is already {refill.status}")
        refill.status = step
        self.changes.notify()
        return refill

    def set_refill(self, refill_id: int, status: str) -> None:
        """Any status at once (REFILL_STATUSES are the usual ones; tests also use odd ones)."""
        self._refills[refill_id].status = status
        self.changes.notify()

    @property
    def outages(self) -> frozenset[Outage]:
        return frozenset(self._outages)

    def switch_outage(self, outage: Outage, on: bool) -> None:
        """Start or end an outage; it lasts until switched off (see Outage). Ending a slow one
        lets the answers that wait on it go at once."""
        if on:
            self._outages.add(outage)
        else:
            self._outages.discard(outage)
            if outage is Outage.SLOW:
                self._slow_ended.set()
                self._slow_ended = asyncio.Event()
        self.changes.notify()

    def _open_order(self, order_id: int) -> SimOrder:
        order = self._orders[order_id]
        if is_final_order_status(order.status):
            raise ValueError(f"order {order_id} is already {order.status}")
        return order

    # --- keeping the panel across restarts (the sandbox's --data) ---------------------------

    def dump(self) -> dict[str, Any]:
        """Balances, orders, refills and the next ids, JSON-ready (see `load`)."""
        return {
            "balances": {key: str(amount) for key, amount in self._balances.items()},
            "orders": [{**asdict(o), "charge": str(o.charge)} for o in self._orders.values()],
            "refills": [asdict(refill) for refill in self._refills.values()],
            "next_order": self._next_order,
            "next_refill": self._next_refill,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Take back what `dump` gave: a bot that kept its database finds its orders again,
        and new orders never reuse an id it knows."""
        self._balances = {key: Decimal(amount) for key, amount in state["balances"].items()}
        orders = [SimOrder(**{**o, "charge": Decimal(o["charge"])}) for o in state["orders"]]
        self._orders = {order.id: order for order in orders}
        self._refills = {r["id"]: SimRefill(**r) for r in state["refills"]}
        self._next_order = int(state["next_order"])
        self._next_refill = int(state["next_refill"])
        self.changes.notify()

    # --- test controls -------------------------------------------------------------------

    @property
    def catalogue(self) -> list[dict[str, Any]]:
        """The catalogue entries as configured (a copy)."""
        return [dict(entry) for entry in self._catalogue]

    @property
    def orders(self) -> Mapping[int, SimOrder]:
        return MappingProxyType(self._orders)

    @property
    def refills(self) -> Mapping[int, SimRefill]:
        return MappingProxyType(self._refills)

    def set_order(
        self,
        order_id: int,
        *,
        status: str | None = None,
        remains: int | None = None,
        start_count: int | None = None,
        charge: Decimal | None = None,
    ) -> None:
        """Change an order as it is, any status text; arguments left None keep their value.

        No money moves here: the operator's moves (`partial_order`, `cancel_order`) refund.
        """
        order = self._orders[order_id]
        if status is not None:
            order.status = status
        if remains is not None:
            order.remains = remains
        if start_count is not None:
            order.start_count = start_count
        if charge is not None:
            order.charge = charge
        self.changes.notify()

    def _refund(self, order: SimOrder) -> None:
        """Give an order that just ended Partial or Canceled its undelivered share back (once:
        the callers only move open orders)."""
        step = canonical_status(order.status)
        if step == "canceled":
            order.remains = order.quantity
        elif step != "partial" or order.remains is None or order.quantity <= 0:
            return
        refund = order.charge * min(order.remains, order.quantity) / order.quantity
        self._balances[order.key] += refund
        order.charge = Decimal(0) if step == "canceled" else order.charge - refund

    def request_count(self, action: str | None = None) -> int:
        return sum(1 for name, _ in self.requests if action is None or name == action)

    async def wait_for_requests(self, count: int, action: str | None = None) -> None:
        """Return once `count` requests (of `action`, or any) have arrived."""
        async with self._request_seen:
            await self._request_seen.wait_for(lambda: self.request_count(action) >= count)

    def reset_requests(self) -> None:
        self.requests.clear()

    def fail_next(
        self,
        fault: str,
        times: int = 1,
        action: str | None = None,
        *,
        message: str | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next `times` requests (of `action`, or any) with `fault` (see FAULTS),
        once `after` of them have been answered as usual.

        `message` is the error text of "error" (default "Incorrect request") and "json_4xx"
        (default "Not enough funds on balance").
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {sorted(FAULTS)}")
        if times < 1 or after < 0:
            raise ValueError("times must be at least 1, after at least 0")
        if message is None:
            message = NOT_ENOUGH_FUNDS if fault == "json_4xx" else INCORRECT_REQUEST
        self._faults.append(_Fault(fault, times, action, message, after))

    def clear_faults(self) -> None:
        self._faults.clear()

    # --- HTTP ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        form = {name: str(value) for name, value in (await request.post()).items()}
        key = form.pop("key", "")
        action = form.get("action", "")
        self.requests.append((action, {k: v for k, v in form.items() if k != "action"}))
        async with self._request_seen:
            self._request_seen.notify_all()
        if Outage.SLOW in self._outages:
            await self._hang(self.slow_seconds, until=self._slow_ended)
        if Outage.DOWN in self._outages:
            return _drop(request)
        if Outage.HTML in self._outages:
            return _html_500()
        fault = self._take_fault(action)
        kind = fault.kind if fault else None
        if kind == "hang":
            await self._hang()
            return web.Response(status=503)
        if kind == "reset":
            return _drop(request)
        if kind == "html_500":
            return _html_500()
        if kind == "html_200":
            return web.Response(text=_HTML_CHALLENGE, content_type="text/html")
        if kind == "empty":
            return web.Response(body=b"", content_type="text/html")
        if kind == "garbage":
            return web.Response(text=_GARBAGE, content_type="text/html")
        if kind == "http_429":
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
        if kind == "error":
            assert fault is not None
            return web.json_response({"error": fault.message})
        if kind == "json_4xx":
            assert fault is not None
            return web.json_response({"error": fault.message}, status=402)
        answer = self._answer(key, action, form)
        self.changes.notify()
        if kind == "hang_after":
            await self._hang()
        return web.json_response(answer)

    def _take_fault(self, action: str) -> _Fault | None:
        for fault in self._faults:
            if fault.action is None or fault.action == action:
                if fault.passes:
                    fault.passes -= 1
                    return None
                fault.remaining -= 1
                if not fault.remaining:
                    self._faults.remove(fault)
                return fault
        return None

    async def _hang(
        self, seconds: float = HANG_SECONDS, until: asyncio.Event | None = None
    ) -> None:
        """Wait `seconds`, or less: until the simulator stops, or `until` is set."""
        events = [self._stopping] if until is None else [self._stopping, until]
        waits = [asyncio.ensure_future(event.wait()) for event in events]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _answer(self, key: str, action: str, form: dict[str, str]) -> Any:
        if key not in self._balances:
            return {"error": INVALID_KEY}
        actions = {
            "services": self._services,
            "add": self._add,
            "status": self._status,
            "refill": self._refill,
            "refill_status": self._refill_status,
            "cancel": self._cancel,
            "balance": self._balance,
        }
        try:
            handler = actions.get(action)
            if handler is None:
                raise _Rejected(INCORRECT_REQUEST)
            return handler(key, form)
        except _Rejected as exc:
            return {"error": exc.message}

    # --- encoding ------------------------------------------------------------------------

    def _num(self, value: int | Decimal) -> Any:
        if self.numbers_as_strings:
            return format(value, "f") if isinstance(value, Decimal) else str(value)
        # PHP panels encode floats; a short decimal survives the round trip through float.
        return float(value) if isinstance(value, Decimal) else value

    def _item_error(self, message: str) -> Any:
        return message if self.bare_string_errors else {"error": message}

    def _ids(self, form: dict[str, str], field_name: str) -> list[str]:
        ids = [part.strip() for part in form.get(field_name, "").split(",") if part.strip()]
        if not ids or len(ids) > MULTI_LIMIT:
            raise _Rejected(INCORRECT_REQUEST)
        return ids

    def _id_out(self, raw: str) -> Any:
        return self._num(int(raw)) if raw.isdigit() else raw

    # --- actions -------------------------------------------------------------------------

    def _services(self, key: str, form: dict[str, str]) -> list[dict[str, Any]]:
        return [self._encode_service(entry) for entry in self._catalogue]

    def _encode_service(self, entry: dict[str, Any]) -> dict[str, Any]:
        encoded = dict(entry)
        for name, parse in (("service", int), ("min", int), ("max", int), ("rate", Decimal)):
            # Entries a test made malformed on purpose are served as they are.
            with contextlib.suppress(KeyError, ValueError, InvalidOperation):
                encoded[name] = self._num(parse(str(entry[name])))
        return encoded

    def _balance(self, key: str, form: dict[str, str]) -> dict[str, Any]:
        return {"balance": self._num(self._balances[key]), "currency": "USD"}

    def _add(self, key: str, form: dict[str, str]) -> dict[str, Any]:
        raw_service = form.get("service", "").strip()
        offer = self._offers.get(int(raw_service)) if raw_service.isdigit() else None
        if offer is None:
            raise _Rejected(INCORRECT_SERVICE)
        required, quantity_source = _RULES[offer.kind]
        for name in required:
            if not form.get(name, "").strip():
                raise _Rejected(BAD_LINK if name == "link" else INCORRECT_REQUEST)
        if "link" in required and not _LINK.fullmatch(form["link"].strip()):
            raise _Rejected(BAD_LINK)
        runs = 1
        if form.get("runs"):
            if not (offer.dripfeed or offer.kind is ServiceType.WEB_TRAFFIC):
                raise _Rejected(INCORRECT_REQUEST)
            runs = _int(form["runs"], minimum=1)
            _int(form.get("interval"), minimum=0)
        if quantity_source == "package":
            quantity, charge = 1, offer.rate
        else:
            if quantity_source in ("comments", "usernames"):
                quantity = len(_lines(form[quantity_source]))
            else:
                quantity = _int(form[quantity_source])
            self._check_bounds(offer, quantity)
            if offer.kind is ServiceType.SUBSCRIPTIONS:
                if _int(form["min"]) > quantity:
                    raise _Rejected(INCORRECT_REQUEST)
                runs = max(_int(form.get("posts") or "0"), 1)
            charge = offer.rate * quantity * runs / 1000
        link = form.get("link", "").strip()
        if self.refuse_duplicate_links and link and self._active_order_with(key, link):
            raise _Rejected(LINK_DUPLICATE)
        if self._balances[key] < charge:
            raise _Rejected(NOT_ENOUGH_FUNDS)
        self._balances[key] -= charge
        order = SimOrder(
            id=self._next_order,
            key=key,
            service=offer.id,
            fields={k: v for k, v in form.items() if k != "action"},
            quantity=quantity * runs,
            charge=charge,
            remains=quantity * runs,
        )
        self._orders[order.id] = order
        self._next_order += 1
        return {"order": self._num(order.id)}

    @staticmethod
    def _check_bounds(offer: _Offer, quantity: int) -> None:
        if quantity < offer.min:
            raise _Rejected(f"Quantity less than minimal {offer.min}")
        if quantity > offer.max:
            raise _Rejected(f"Quantity more than maximal {offer.max}")

    def _active_order_with(self, key: str, link: str) -> bool:
        return any(
            order.key == key
            and order.fields.get("link", "").strip() == link
            and not is_final_order_status(order.status)
            for order in self._orders.values()
        )

    def _owned_order(self, key: str, raw: str) -> SimOrder | None:
        order = self._orders.get(int(raw)) if raw.isdigit() else None
        return order if order is not None and order.key == key else None

    def _status(self, key: str, form: dict[str, str]) -> dict[str, Any]:
        if "orders" in form:
            answer: dict[str, Any] = {}
            for raw in self._ids(form, "orders"):
                order = self._owned_order(key, raw)
                answer[raw] = (
                    self._item_error(INCORRECT_ORDER)
                    if order is None
                    else self._order_object(order)
                )
            return answer
        order = self._owned_order(key, form.get("order", "").strip())
        if order is None:
            raise _Rejected(INCORRECT_ORDER)
        return self._order_object(order)

    def _order_object(self, order: SimOrder) -> dict[str, Any]:
        if self.auto_progress:
            self._progress(order)
        values: dict[str, Any] = {
            "charge": self._num(order.charge),
            "start_count": None if order.start_count is None else self._num(order.start_count),
            "status": order.status,
            "remains": None if order.remains is None else self._num(order.remains),
            "currency": order.currency,
        }
        return {name: value for name, value in values.items() if value is not None}

    @staticmethod
    def _progress(order: SimOrder) -> None:
        step = canonical_status(order.status)
        if step == "pending":
            order.status = "In progress"
            order.start_count = 100
        elif step == "in_progress":
            order.status = "Completed"
            order.remains = 0

    def _refill(self, key: str, form: dict[str, str]) -> Any:
        if "orders" in form:
            answer = []
            for raw in self._ids(form, "orders"):
                try:
                    refill: Any = self._num(self._create_refill(key, raw))
                except _Rejected as exc:
                    refill = self._item_error(exc.message)
                answer.append({"order": self._id_out(raw), "refill": refill})
            return answer
        return {"refill": self._num(self._create_refill(key, form.get("order", "").strip()))}

    def _create_refill(self, key: str, raw: str) -> int:
        order = self._owned_order(key, raw)
        if order is None:
            raise _Rejected(INCORRECT_ORDER)
        offer = self._offers.get(order.service)
        if offer is None or not offer.refill:
            raise _Rejected(NOT_ELIGIBLE_REFILL)
        if canonical_status(order.status) not in ("completed", "partial"):
            raise _Rejected(NOT_ELIGIBLE_REFILL)
        refill = SimRefill(id=self._next_refill, order_id=order.id, key=key)
        self._refills[refill.id] = refill
        self._next_refill += 1
        return refill.id

    def _owned_refill(self, key: str, raw: str) -> SimRefill | None:
        refill = self._refills.get(int(raw)) if raw.isdigit() else None
        return refill if refill is not None and refill.key == key else None

    def _refill_status(self, key: str, form: dict[str, str]) -> Any:
        if "refills" in form:
            answer = []
            for raw in self._ids(form, "refills"):
                refill = self._owned_refill(key, raw)
                status = self._item_error(REFILL_NOT_FOUND) if refill is None else refill.status
                answer.append({"refill": self._id_out(raw), "status": status})
            return answer
        refill = self._owned_refill(key, form.get("refill", "").strip())
        if refill is None:
            raise _Rejected(REFILL_NOT_FOUND)
        return {"status": refill.status}

    def _cancel(self, key: str, form: dict[str, str]) -> list[dict[str, Any]]:
        answer = []
        for raw in self._ids(form, "orders" if "orders" in form else "order"):
            try:
                self._cancel_one(key, raw)
                result: Any = self._num(1)
            except _Rejected as exc:
                result = self._item_error(exc.message)
            answer.append({"order": self._id_out(raw), "cancel": result})
        return answer

    def _cancel_one(self, key: str, raw: str) -> None:
        order = self._owned_order(key, raw)
        if order is None:
            raise _Rejected(INCORRECT_ORDER)
        offer = self._offers.get(order.service)
        if offer is None or not offer.cancel or is_final_order_status(order.status):
            raise _Rejected(CANNOT_CANCEL)
        self.set_order(order.id, status="Canceled")
        self._refund(order)


# --- catalogues ------------------------------------------------------------------------------


def default_catalogue() -> list[dict[str, Any]]:
    """About 60 services (catalogue.json): every type, several categories, emoji, HTML
    entities, a very long name, numbers as strings, types in odd letter case."""
    text = resources.files("bot.sandbox").joinpath("catalogue.json").read_text("utf-8")
    entries: list[dict[str, Any]] = json.loads(text)
    return entries


def big_catalogue(n: int) -> list[dict[str, Any]]:
    """`n` services over every type, 100 per category (for load tests)."""
    kinds = list(ServiceType)
    return [
        {
            "service": str(number),
            "name": f"Service {number} — {kinds[number % len(kinds)].value} &amp; more",
            "type": kinds[number % len(kinds)].value,
            "category": f"Category {number // 100:03d}",
            "rate": format(Decimal(number % 997 + 1) / 100, "f"),
            "min": "10",
            "max": "100000",
            "refill": number % 2 == 0,
            "cancel": number % 3 == 0,
            "description": "Generated service",
        }
        for number in range(1, n + 1)
    ]


def _html_500() -> web.Response:
    return web.Response(status=500, text=_HTML_500, content_type="text/html")


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (the response returned is never sent)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=503)
