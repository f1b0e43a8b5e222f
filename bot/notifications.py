"""Telling people about new statuses of their orders and refills, each in their own language.

A change is marked as told only once Telegram accepted the message (compare-and-set on the
status), so a restart neither repeats a delivered notification nor loses an undelivered one.
A send whose outcome is unknown (Telegram may have shown it) counts as told too: telling a
change twice is worse than, rarely, not at all, since the order's card shows its status anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain import Status
from bot.i18n import CatalogI18n, _
from bot.keyboards.menus import order_link
from bot.panel.models import canonical_status
from bot.services.delivery import OutboundQueue, Outgoing
from bot.storage.repositories import (
    OrderRepository,
    OrderRow,
    RefillRepository,
    RefillRow,
    UserRepository,
)
from bot.texts import money, number, order_title, status_icon, status_label

log = logging.getLogger(__name__)

MAX_CHANGES_PER_MESSAGE = 10
MAX_MESSAGE_CHARS = 3500  # below Telegram's 4096, with room for the markup
SERVICE_NAME_CHARS = 120
MAX_ATTEMPTS = 3  # sends of one change that may fail before this process stops trying it

# What a notification tells: ("order" or "refill", local id, the status told).
Key = tuple[str, int, str]


@dataclass(frozen=True, slots=True)
class _Change:
    key: Key
    owner_id: int
    order: OrderRow  # the order, or the refill's order
    refill: RefillRow | None = None


class Notifier:
    def __init__(
        self,
        orders: OrderRepository,
        refills: RefillRepository,
        users: UserRepository,
        queue: OutboundQueue,
        i18n: CatalogI18n,
    ) -> None:
        self._orders = orders
        self._refills = refills
        self._users = users
        self._queue = queue
        self._i18n = i18n
        self._in_flight: set[Key] = set()  # queued, not yet sent or given up
        self._failures: dict[Key, int] = {}
        # One flush at a time: two would both see a change as not yet queued.
        self._lock = asyncio.Lock()

    async def flush(self) -> int:
        """Queue a message for every status change not told yet; return how many changes."""
        async with self._lock:
            by_owner: dict[int, list[_Change]] = defaultdict(list)
            # Taken before the pending rows are read: a change sent while they are read is
            # marked told (and leaves _in_flight) after the read saw it untold, and would
            # otherwise be queued a second time.
            in_flight = frozenset(self._in_flight)
            for change in await self._untold(in_flight):
                by_owner[change.owner_id].append(change)
            queued = 0
            for owner_id, changes in by_owner.items():
                user = await self._users.get(owner_id)
                if user is not None and user.blocked:
                    # Nobody to tell; the person sees the statuses in the bot when back.
                    await self._mark_told(changes)
                    continue
                language = user.language if user and user.language else self._default_language
                messages, unrendered = _messages(changes, self._i18n, language)
                # Counted as failed sends: tried again at later flushes, up to MAX_ATTEMPTS.
                await self._failed(unrendered)
                for text, markup, told in messages:
                    self._in_flight.update(change.key for change in told)
                    await self._queue.put(
                        Outgoing(
                            chat_id=owner_id,
                            text=text,
                            reply_markup=markup,
                            on_sent=partial(self._sent, told),
                            on_failed=partial(self._failed, told),
                            on_outcome_unknown=partial(self._maybe_sent, told),
                            # Like a blocked person's changes at flush: the person sees the
                            # statuses in the bot when back, rather than stale news.
                            on_unreachable=partial(self._sent, told),
                        )
                    )
                    queued += len(told)
            return queued

    async def alert_admins(self, admin_ids: Iterable[int], text_fn: Callable[[], str]) -> int:
        """Queue `text_fn()` to every admin, rendered in the admin's language; return how many."""
        queued = 0
        for admin_id in sorted(set(admin_ids)):
            user = await self._users.get(admin_id)
            if user is not None and user.blocked:
                continue
            language = user.language if user and user.language else self._default_language
            with self._i18n.context(), self._i18n.use_locale(language):
                text = text_fn()
            await self._queue.put(Outgoing(chat_id=admin_id, text=text))
            queued += 1
        return queued

    @property
    def _default_language(self) -> str:
        return self._i18n.default_locale

    async def _untold(self, in_flight: frozenset[Key]) -> list[_Change]:
        """Changes to tell, but those in flight now or when `in_flight` was taken."""
        changes: list[_Change] = []
        for order in await self._orders.pending_notifications():
            assert order.status is not None  # pending_notifications selects statuses set
            key: Key = ("order", order.id, order.status)
            if key in in_flight or self._skipped(key):
                continue
            if _initial(order.status, order.notified_status):
                await self._orders.mark_notified(order.id, order.status)
                continue
            changes.append(_Change(key, order.owner_id, order))
        for refill in await self._refills.pending_notifications():
            assert refill.status is not None
            key = ("refill", refill.id, refill.status)
            if key in in_flight or self._skipped(key):
                continue
            refill_order = await self._orders.get(refill.order_id)
            if refill_order is None or _initial(refill.status, refill.notified_status):
                await self._refills.mark_notified(refill.id, refill.status)
                continue
            changes.append(_Change(key, refill.owner_id, refill_order, refill))
        return changes

    def _skipped(self, key: Key) -> bool:
        return key in self._in_flight or self._failures.get(key, 0) >= MAX_ATTEMPTS

    async def _mark_told(self, changes: Iterable[_Change]) -> None:
        for change in changes:
            kind, local_id, status = change.key
            repository = self._orders if kind == "order" else self._refills
            # A no-op if the status moved on meanwhile: the newer one is then still to tell.
            await repository.mark_notified(local_id, status)

    async def _sent(self, changes: list[_Change]) -> None:
        """Delivered, or dropped for an unreachable chat: either way not to be sent again."""
        try:
            await self._mark_told(changes)
        finally:
            for change in changes:
                self._in_flight.discard(change.key)
                self._failures.pop(change.key, None)

    async def _maybe_sent(self, changes: list[_Change]) -> None:
        """Given up after a send that may have reached the chat: not sent again, lest the
        person get it twice."""
        for change in changes:
            log.warning(
                "notification of %s %s (%s) to %s may or may not have been shown "
                "(Telegram's answer was lost): counted as told",
                *change.key,
                change.owner_id,
            )
        await self._sent(changes)

    async def _failed(self, changes: list[_Change]) -> None:
        for change in changes:
            self._in_flight.discard(change.key)
            failures = self._failures[change.key] = self._failures.get(change.key, 0) + 1
            if failures == MAX_ATTEMPTS:
                log.error(
                    "notification of %s %s (%s) to %s failed %d times: not tried again",
                    *change.key,
                    change.owner_id,
                    failures,
                )


def _initial(status: str, notified_status: str | None) -> bool:
    """The first status seen is Pending: the person knows that already from placing it."""
    return notified_status is None and canonical_status(status) is Status.PENDING


def _messages(
    changes: list[_Change], i18n: CatalogI18n, language: str
) -> tuple[list[tuple[str, InlineKeyboardMarkup, list[_Change]]], list[_Change]]:
    """Messages telling `changes`, several to a message: (text, keyboard, changes told); and
    the changes that could not be rendered."""
    with i18n.context(), i18n.use_locale(language):
        rendered: list[tuple[_Change, str]] = []
        unrendered: list[_Change] = []
        for change in changes:
            try:
                rendered.append((change, change_text(change.order, change.refill)))
            except Exception:
                # A value nobody can format (e.g. a charge Babel refuses) must not keep the
                # other changes, of this person or of anybody else, from being told.
                log.exception("cannot render the notification of %s %s (%s)", *change.key)
                unrendered.append(change)
        messages: list[tuple[str, InlineKeyboardMarkup, list[_Change]]] = []
        part: list[tuple[_Change, str]] = []
        for change, text in rendered:
            size = sum(len(told) + 2 for _change, told in part) + len(text)
            if part and (len(part) >= MAX_CHANGES_PER_MESSAGE or size > MAX_MESSAGE_CHARS):
                messages.append(_message(part))
                part = []
            part.append((change, text))
        if part:
            messages.append(_message(part))
        return messages, unrendered


def _message(part: list[tuple[_Change, str]]) -> tuple[str, InlineKeyboardMarkup, list[_Change]]:
    changes = [change for change, _text in part]
    text = "\n\n".join(text for _change, text in part)
    orders = list({change.order.id: change.order for change in changes}.values())
    if len(orders) == 1:
        return text, order_link(orders[0]), changes
    # One card button per order, each labelled with its order's number.
    rows: list[list[InlineKeyboardButton]] = []
    for order in orders:
        button = order_link(order).inline_keyboard[0][0]
        rows.append([button.model_copy(update={"text": f"📄 {order_title(order)}"})])
    return text, InlineKeyboardMarkup(inline_keyboard=rows), changes


def change_text(order: OrderRow, refill: RefillRow | None = None) -> str:
    """One status change, in the current language (HTML)."""
    if refill is not None:
        status = refill.status
        lines = [
            "🔔 <b>" + _("Refill #{refill}").format(refill=refill.panel_refill_id) + "</b>",
            order_title(order),
        ]
    else:
        status = order.status
        lines = [f"🔔 <b>{order_title(order)}</b>"]
    if order.service_name:
        name = order.service_name
        if len(name) > SERVICE_NAME_CHARS:
            name = name[: SERVICE_NAME_CHARS - 1] + "…"
        lines.append(escape(name))
    lines.append(
        _("Status: {status}").format(status=f"{status_icon(status)} {status_label(status)}")
    )
    if refill is None and canonical_status(status or "") is Status.PARTIAL:
        lines.append(_("Remains: {value}").format(value=number(order.remains)))
        lines.append(_("Charge: {charge}").format(charge=money(order.charge, order.currency)))
    return "\n".join(lines)


def unknown_order_alert(order: OrderRow) -> str:
    """For admins, in the current language: an order whose placement outcome is unknown."""
    lines = [
        _("⚠️ <b>An order may or may not have been placed</b>"),
        _(
            "The panel did not answer when this order was sent, and it was not sent again. "
            "Check on the panel whether it exists."
        ),
        "",
        _("Local ID: {id}").format(id=order.id),
        _("Person: <code>{owner}</code>").format(owner=order.owner_id),
        _("Service: {service} (#{id})").format(
            service=escape(order.service_name), id=order.service_id
        ),
    ]
    if order.link:
        lines.append(_("Link: {link}").format(link=escape(order.link)))
    if order.quantity is not None:
        lines.append(_("Quantity: {value}").format(value=number(order.quantity)))
    lines += ["", _("Settle one with /resolve LOCAL_ID PANEL_ORDER_ID, or /resolve LOCAL_ID none.")]
    return "\n".join(lines)
