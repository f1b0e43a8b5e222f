"""How notifications read: status changes and admin alerts, in the reader's language (HTML)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain import Status
from bot.i18n import CatalogI18n, _
from bot.keyboards.menus import order_link
from bot.panel.models import canonical_status
from bot.services.notifying import Change, Notification
from bot.storage.ledger import Entry
from bot.storage.repositories import OrderRow, RefillRow
from bot.texts import money, number, order_title, status_icon, status_label
from bot.views.markup import MESSAGE_LIMIT, Limit, escaped, fit, visible_length
from bot.views.shop import ShopMoney, refunded

log = logging.getLogger(__name__)

MAX_CHANGES_PER_MESSAGE = 10
SERVICE_NAME_CHARS = 120
SEPARATOR = "\n\n"


class NotificationViews:
    """`bot.services.notifying.NotificationViews` over the bot's catalogues."""

    def __init__(self, i18n: CatalogI18n, shop_money: ShopMoney | None = None) -> None:
        self._i18n = i18n
        # Shop mode: customers see their wallet's money, never the panel's charge.
        self._shop_money = shop_money

    @property
    def default_language(self) -> str:
        return self._i18n.default_locale

    def render(self, language: str, text_fn: Callable[[], str]) -> str:
        with self._i18n.context(), self._i18n.use_locale(language):
            return fit(text_fn())

    def unknown_for_admins(self, order: OrderRow, language: str) -> str:
        return self.render(language, lambda: unknown_order_alert(order))

    def unknown_for_owner(self, order: OrderRow, language: str) -> Notification:
        with self._i18n.context(), self._i18n.use_locale(language):
            return Notification(
                text=fit(unknown_order_notice(order)),
                reply_markup=order_link(order),
                changes=(),
            )

    def unrefunded_for_admins(self, order: OrderRow, charge: Entry, language: str) -> str:
        fmt = self._shop_money
        assert fmt is not None  # only a shop's orders have a charge
        return self.render(language, lambda: unrefunded_order_alert(order, charge, fmt))

    def messages(
        self, changes: Sequence[Change], language: str
    ) -> tuple[list[Notification], list[Change]]:
        """Messages telling `changes`, several to a message but each within Telegram's limit;
        and the changes that could not be rendered."""
        with self._i18n.context(), self._i18n.use_locale(language):
            rendered: list[tuple[Change, str]] = []
            unrendered: list[Change] = []
            for change in changes:
                try:
                    rendered.append((change, fit(self._text(change))))
                except Exception:
                    # A value nobody can format (e.g. a charge Babel refuses) must not keep the
                    # other changes, of this person or of anybody else, from being told.
                    log.exception("cannot render the notification of %s %s (%s)", *change.key)
                    unrendered.append(change)
            messages: list[Notification] = []
            part: list[tuple[Change, str]] = []
            size = 0
            for change, text in rendered:
                length = visible_length(text)
                if part and (
                    len(part) >= MAX_CHANGES_PER_MESSAGE
                    or size + len(SEPARATOR) + length > MESSAGE_LIMIT
                ):
                    messages.append(_message(part))
                    part, size = [], 0
                size += length + (len(SEPARATOR) if part else 0)
                part.append((change, text))
            if part:
                messages.append(_message(part))
            return messages, unrendered

    def _text(self, change: Change) -> str:
        if self._shop_money is None:
            return change_text(change.order, change.refill)
        text = change_text(change.order, change.refill, panel_charge=False)
        if change.refund is not None:
            refund = change.refund
            text += "\n" + refunded(self._shop_money, refund.amount, refund.balance_after)
        return text


def _message(part: list[tuple[Change, str]]) -> Notification:
    changes = [change for change, _text in part]
    text = SEPARATOR.join(text for _change, text in part)
    orders = list({change.order.id: change.order for change in changes}.values())
    if len(orders) == 1:
        return Notification(text, order_link(orders[0]), changes)
    # One card button per order, each labelled with its order's number.
    rows: list[list[InlineKeyboardButton]] = []
    for order in orders:
        button = order_link(order).inline_keyboard[0][0]
        rows.append([button.model_copy(update={"text": f"📄 {order_title(order)}"})])
    return Notification(text, InlineKeyboardMarkup(inline_keyboard=rows), changes)


def change_text(
    order: OrderRow, refill: RefillRow | None = None, *, panel_charge: bool = True
) -> str:
    """One status change, in the current language (HTML); `panel_charge`: show what the panel
    charged (never in a shop: customers do not see the panel's prices)."""
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
        lines.append(escaped(order.service_name, SERVICE_NAME_CHARS))
    lines.append(
        _("Status: {status}").format(status=f"{status_icon(status)} {status_label(status)}")
    )
    if refill is None and canonical_status(status or "") is Status.PARTIAL:
        lines.append(_("Remains: {value}").format(value=number(order.remains)))
        if panel_charge:
            lines.append(_("Charge: {charge}").format(charge=money(order.charge, order.currency)))
    return "\n".join(lines)


def unrefunded_order_alert(order: OrderRow, charge: Entry, fmt: ShopMoney) -> str:
    """For admins, in the current language: a paid order that ended failed or partial and got
    nothing back automatically, with the command that gives the money back."""
    paid = -charge.amount
    lines = [
        _("⚠️ <b>A paid order ended with nothing given back</b>"),
        _(
            "It ended as “{status}” on the panel. The customer paid {paid} from the wallet and "
            "nothing went back automatically. Check the order on the panel; to give the money "
            "back (once, whoever of the admins sends it):"
        ).format(status=status_label(order.status), paid=fmt(paid)),
        f"<code>/refund {order.id}</code>",
        "",
        *_order_facts(order),
        _("Panel order: {id}").format(id=order.panel_order_id),
    ]
    if order.remains is not None:
        lines.append(_("Remains: {value}").format(value=number(order.remains)))
    return "\n".join(lines)


def unknown_order_notice(order: OrderRow) -> str:
    """For the owner, in the current language: their order may or may not have been placed."""
    return "\n".join(
        [
            _("⚠️ <b>Your order may or may not have been placed</b>"),
            _("{service} (order {id})").format(
                service=escaped(order.service_name, Limit.NAME), id=order.id
            ),
            "",
            _(
                "The panel gave no clear answer when the order was sent, and it was not sent "
                "again, so nothing is bought twice. An operator will check it on the panel and "
                "tell you what became of it."
            ),
        ]
    )


def unknown_order_alert(order: OrderRow) -> str:
    """For admins, in the current language: an order whose placement outcome is unknown."""
    lines = [
        _("⚠️ <b>An order may or may not have been placed</b>"),
        _(
            "The panel did not answer when this order was sent, and it was not sent again. "
            "Check on the panel whether it exists."
        ),
        "",
        *_order_facts(order),
        "",
        _("Settle one with /resolve LOCAL_ID PANEL_ORDER_ID, or /resolve LOCAL_ID none."),
    ]
    return "\n".join(lines)


def _order_facts(order: OrderRow) -> list[str]:
    """What admins need to find an order: its local ID, its owner, what was ordered."""
    lines = [
        _("Local ID: {id}").format(id=order.id),
        _("Person: <code>{owner}</code>").format(owner=order.owner_id),
        _("Service: {service} (#{id})").format(
            service=escaped(order.service_name, Limit.NAME), id=order.service_id
        ),
    ]
    if order.link:
        lines.append(_("Link: {link}").format(link=escaped(order.link, Limit.LINK)))
    if order.quantity is not None:
        lines.append(_("Quantity: {value}").format(value=number(order.quantity)))
    return lines
