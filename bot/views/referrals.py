"""How referrals read, in the reader's language (HTML): /referral's screen and the referrer's
note of a commission credited."""

from __future__ import annotations

from collections.abc import Callable

from bot.i18n import _
from bot.views.markup import Limit, escaped

Money = Callable[[int], str]


def link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


def screen(url: str, brought: int, earned: str | None) -> str:
    """`earned` is None outside a shop: there is no money to show."""
    lines = [
        _("🤝 Your referral link:"),
        f"<code>{escaped(url, Limit.LINK)}</code>",
        "",
        _("People you brought: {count}").format(count=brought),
    ]
    if earned is not None:
        lines.append(_("Earned: {amount}").format(amount=earned))
        lines.append(_("You get a share of every wallet top-up of the people you brought."))
    return "\n".join(lines)


def commission(fmt: Money, amount: int, balance: int) -> str:
    return _(
        "🤝 Someone you brought topped up their wallet: {amount} was added to yours. "
        "Balance: {balance}."
    ).format(amount=fmt(amount), balance=fmt(balance))
