"""How the shop reads: wallets, ledger entries, shortfalls, refunds, admin money actions."""

from __future__ import annotations

from html import escape

from bot.i18n import _, format_fixed
from bot.services.money import from_minor
from bot.storage.ledger import Entry, EntryKind
from bot.storage.rows import OrderRow
from bot.texts import order_title, when
from bot.views.markup import Limit, escaped, fit


class ShopMoney:
    """Minor units of the shop currency as text in the reader's language."""

    def __init__(self, currency: str, digits: int) -> None:
        self.currency = currency
        self.digits = digits

    def __call__(self, minor: int) -> str:
        return f"{format_fixed(from_minor(minor, self.digits), self.digits)} {self.currency}"


def kind_label(kind: EntryKind) -> str:
    labels = {
        EntryKind.TOPUP: _("Top-up"),
        EntryKind.ORDER_CHARGE: _("Order charge"),
        EntryKind.ORDER_REFUND: _("Order refund"),
        EntryKind.ADMIN_CREDIT: _("Added by an admin"),
        EntryKind.ADMIN_DEBIT: _("Taken by an admin"),
        EntryKind.PAYMENT_REFUND: _("Payment refund"),
        EntryKind.REFERRAL_COMMISSION: _("Referral commission"),
    }
    return labels[kind]


def wallet_balance(fmt: ShopMoney, balance: int) -> str:
    return _("Your wallet: <b>{balance}</b>").format(balance=fmt(balance))


def top_up_help(user_id: int) -> str:
    return _(
        "To top up your wallet, please write to the shop's admin and give them your ID: "
        "<code>{id}</code>."
    ).format(id=user_id)


def shortfall(fmt: ShopMoney, missing: int, balance: int) -> str:
    return _(
        "❌ Your wallet has {balance}: {missing} more is needed for this order. Nothing was "
        "ordered or charged."
    ).format(balance=fmt(balance), missing=fmt(missing))


def short_at_confirmation(fmt: ShopMoney, missing: int) -> str:
    return _("⚠️ Your wallet is {missing} short of the price.").format(missing=fmt(missing))


def briefly_unavailable() -> str:
    return _("⏳ This service is briefly unavailable. Nothing was charged; please try again later.")


def refunded(fmt: ShopMoney, amount: int, balance: int) -> str:
    return _("💸 {amount} went back to your wallet. Balance: {balance}.").format(
        amount=fmt(amount), balance=fmt(balance)
    )


def panel_funds_alert() -> str:
    return _(
        "⚠️ The panel balance cannot pay for customers' orders. They are told the service is "
        "briefly unavailable until the panel is topped up."
    )


def entry_line(fmt: ShopMoney, entry: Entry) -> str:
    line = _("{time} · {kind} · {amount} → {balance} · {reference}").format(
        time=when(entry.created_at),
        kind=kind_label(entry.kind),
        amount=("+" if entry.amount > 0 else "−") + fmt(abs(entry.amount)),
        balance=fmt(entry.balance_after),
        reference=escape(entry.reference),
    )
    if entry.actor_id is not None and entry.kind in (EntryKind.ADMIN_CREDIT, EntryKind.ADMIN_DEBIT):
        line += " · " + _("by {admin}").format(admin=entry.actor_id)
    if entry.note:
        line += " · " + escaped(entry.note, Limit.LISTED)
    return line


def wallet_report(fmt: ShopMoney, user_id: int, balance: int, entries: list[Entry]) -> str:
    lines = [_("<b>Wallet of {user}</b>: {balance}").format(user=user_id, balance=fmt(balance))]
    if not entries:
        lines.append(_("No entries yet."))
    lines += [entry_line(fmt, e) for e in entries]
    return fit("\n".join(lines))


def admin_moved(fmt: ShopMoney, user_id: int, amount: int, balance: int, *, credit: bool) -> str:
    text = (
        _("Added {amount} to the wallet of {user}. Balance: {balance}.")
        if credit
        else _("Took {amount} from the wallet of {user}. Balance: {balance}.")
    )
    return text.format(amount=fmt(amount), user=user_id, balance=fmt(balance))


def admin_refunded(fmt: ShopMoney, order: OrderRow, entry: Entry, *, fresh: bool) -> str:
    text = (
        _("Gave back {amount} of order {id} to the wallet of {user}. Balance: {balance}.")
        if fresh
        else _("Order {id} was refunded already: {amount} went back to the wallet of {user}.")
    )
    return text.format(
        amount=fmt(entry.amount), id=order.id, user=entry.user_id, balance=fmt(entry.balance_after)
    )


def customer_refunded(fmt: ShopMoney, order: OrderRow, amount: int, balance: int) -> str:
    return f"🔔 <b>{order_title(order)}</b>\n" + refunded(fmt, amount, balance)


def customer_moved(fmt: ShopMoney, amount: int, balance: int, note: str, *, credit: bool) -> str:
    text = (
        _("💰 {amount} was added to your wallet: {note}. Balance: {balance}.")
        if credit
        else _("💰 {amount} was taken from your wallet: {note}. Balance: {balance}.")
    )
    return text.format(amount=fmt(amount), note=escaped(note, Limit.NAME), balance=fmt(balance))
