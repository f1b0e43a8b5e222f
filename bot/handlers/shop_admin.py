"""Admins of a shop: wallets, credits and debits, markups, hiding, figures."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from html import escape

from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject
from aiogram.types import InlineKeyboardMarkup, Message

from bot.domain import Placement
from bot.handlers.telling import tell
from bot.i18n import CatalogI18n, _
from bot.services.money import AmountError, parse_amount
from bot.services.people import person_id
from bot.services.shop import Period, ShopService
from bot.storage.ledger import InsufficientFunds
from bot.storage.repositories import OrderRepository, UserRepository
from bot.views.markup import Limit, escaped, fit
from bot.views.shop import (
    ShopMoney,
    admin_moved,
    admin_refunded,
    customer_moved,
    customer_refunded,
    wallet_report,
)

NOTE_CHARS = 200


def _money(shop: ShopService) -> ShopMoney:
    return ShopMoney(shop.currency, shop.digits)


async def wallet(message: Message, command: CommandObject, shop: ShopService) -> None:
    args = (command.args or "").split()
    user_id = person_id(args[0]) if len(args) == 1 else None
    if user_id is None:
        await message.answer(_("Usage: /wallet USER_ID"))
        return
    balance = await shop.balance(user_id)
    entries = await shop.history(user_id)
    await message.answer(wallet_report(_money(shop), user_id, balance, entries))


async def move(
    message: Message,
    command: CommandObject,
    shop: ShopService,
    users: UserRepository,
    i18n: CatalogI18n,
    bot: Bot,
) -> None:
    """/credit and /debit."""
    name = command.command.lower()
    credit = name == "credit"
    args = (command.args or "").split(maxsplit=2)
    user_id = person_id(args[0]) if len(args) == 3 else None
    if user_id is None:
        await message.answer(_("Usage: /{command} USER_ID AMOUNT NOTE").format(command=name))
        return
    note = args[2].strip()[:NOTE_CHARS]
    try:
        amount = parse_amount(args[1], shop.digits)
    except AmountError:
        await message.answer(
            _("Not an amount: {text}. Write it like 12.50, with at most {digits} decimals.").format(
                text=escaped(args[1], Limit.STATUS), digits=shop.digits
            )
        )
        return
    if await users.get(user_id) is None:
        await message.answer(_("Person {user} has never used the bot.").format(user=user_id))
        return
    assert message.from_user is not None
    fmt = _money(shop)
    try:
        posted = await shop.admin_move(
            message.from_user.id,
            user_id,
            amount,
            note,
            credit=credit,
            # A redelivered update is the same message: it moves nothing the second time.
            key=f"admin:{message.chat.id}:{message.message_id}",
        )
    except InsufficientFunds as exc:
        await message.answer(
            _("Not done: the wallet of {user} holds only {balance}.").format(
                user=user_id, balance=fmt(exc.balance)
            )
        )
        return
    after = posted.entry.balance_after
    await message.answer(admin_moved(fmt, user_id, amount, after, credit=credit))
    if not posted.fresh:
        return

    def text() -> tuple[str, InlineKeyboardMarkup | None]:
        return customer_moved(fmt, amount, after, note, credit=credit), None

    await tell(bot, users, i18n, user_id, text, message)


async def refund(
    message: Message,
    command: CommandObject,
    shop: ShopService,
    orders: OrderRepository,
    users: UserRepository,
    i18n: CatalogI18n,
    bot: Bot,
) -> None:
    """/refund LOCAL_ID: an ended order's charge back to its wallet, once (see refund_ended)."""
    args = (command.args or "").split()
    local_id = person_id(args[0]) if len(args) == 1 else None  # the same shape: a positive int
    if local_id is None:
        await message.answer(_("Usage: /refund LOCAL_ID"))
        return
    order = await orders.get(local_id)
    if order is None:
        await message.answer(_("No order has local ID {id}.").format(id=local_id))
        return
    if order.placement is not Placement.PLACED or not order.final:
        # An open order refunds itself if it ends canceled; an unknown one is settled by /resolve.
        await message.answer(
            _(
                "Order {id} has not ended on the panel: only an ended order is refunded by hand."
            ).format(id=local_id)
        )
        return
    posted = await shop.refund_ended(local_id)
    if posted is None:
        await message.answer(_("Order {id} took nothing from a wallet.").format(id=local_id))
        return
    fmt = _money(shop)
    entry = posted.entry
    await message.answer(admin_refunded(fmt, order, entry, fresh=posted.fresh))
    if not posted.fresh:
        return

    def text() -> tuple[str, InlineKeyboardMarkup | None]:
        return customer_refunded(fmt, order, entry.amount, entry.balance_after), None

    await tell(bot, users, i18n, entry.user_id, text, message)


def _percent(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().rstrip("%").replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() and 0 <= value <= 10_000 else None


async def markup(message: Message, command: CommandObject, shop: ShopService) -> None:
    args = (command.args or "").split()
    usage = _(
        "Usage: /markup · /markup default PERCENT · /markup service ID PERCENT|inherit · "
        "/markup category NAME PERCENT|inherit"
    )
    if not args:
        await message.answer(await _markup_report(shop))
        return
    scope, rest = args[0].lower(), args[1:]
    if scope == "default" and len(rest) == 1:
        target, value = "", rest[0]
    elif scope == "service" and len(rest) == 2 and rest[0].isdecimal():
        target, value = rest[0], rest[1]
    elif scope == "category" and len(rest) >= 2:
        target, value = " ".join(rest[:-1]), rest[-1]
    else:
        await message.answer(usage)
        return
    inherit = value.lower() == "inherit" and scope != "default"
    percent = None if inherit else _percent(value)
    if percent is None and not inherit:
        await message.answer(usage)
        return
    assert message.from_user is not None
    await shop.set_markup(scope, target, percent, message.from_user.id)  # type: ignore[arg-type]
    await message.answer(await _markup_report(shop))


async def _markup_report(shop: ShopService) -> str:
    rules = await shop.rules()
    lines = [
        _("<b>Markups</b> (a service's beats its category's, which beats the default)"),
        _("Default: {percent}%").format(percent=rules.markups.default),
    ]
    for service_id, percent in sorted(rules.markups.services.items()):
        lines.append(_("Service #{id}: {percent}%").format(id=service_id, percent=percent))
    for category, percent in sorted(rules.markups.categories.items()):
        lines.append(
            _("Category “{name}”: {percent}%").format(
                name=escaped(category, Limit.LISTED), percent=percent
            )
        )
    hidden = [f"#{s}" for s in sorted(rules.hidden_services)]
    hidden += [escaped(c, Limit.LISTED) for c in sorted(rules.hidden_categories)]
    if hidden:
        lines.append(_("Hidden: {items}").format(items=", ".join(hidden)))
    return fit("\n".join(lines))


async def hide(message: Message, command: CommandObject, shop: ShopService) -> None:
    await _hide(message, command, shop, hidden=True)


async def unhide(message: Message, command: CommandObject, shop: ShopService) -> None:
    await _hide(message, command, shop, hidden=False)


async def _hide(
    message: Message, command: CommandObject, shop: ShopService, *, hidden: bool
) -> None:
    args = (command.args or "").split(maxsplit=1)
    name = "hide" if hidden else "unhide"
    if (
        len(args) != 2
        or args[0].lower() not in ("service", "category")
        or (args[0].lower() == "service" and not args[1].strip().isdecimal())
    ):
        await message.answer(
            _("Usage: /{command} service ID, or /{command} category NAME").format(command=name)
        )
        return
    assert message.from_user is not None
    scope = "service" if args[0].lower() == "service" else "category"
    await shop.set_hidden(scope, args[1].strip(), hidden, message.from_user.id)
    await message.answer(await _markup_report(shop))


async def stats(message: Message, shop: ShopService) -> None:
    people, held, periods = await shop.stats()
    fmt = _money(shop)
    titles = {"today": _("Today (UTC)"), "week": _("Last 7 days"), "all": _("All time")}
    lines = [
        _("People: {count}").format(count=people),
        _("Money in wallets: {amount}").format(amount=fmt(held)),
    ]
    for key, period in periods.items():
        lines += ["", f"<b>{escape(titles[key])}</b>", _period(fmt, period)]
    await message.answer("\n".join(lines))
    # The console's /stats follows with the 30-day chart and the numbers a day.
    raise SkipHandler


def _period(fmt: ShopMoney, period: Period) -> str:
    return _("Top-ups {topups} · sales {sales} · panel cost {cost} · margin {margin}").format(
        topups=fmt(period.topups),
        sales=fmt(period.sales),
        cost=fmt(period.cost),
        margin=("−" if period.margin < 0 else "") + fmt(abs(period.margin)),
    )


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="shop_admin")
    router.message(Command("wallet"))(wallet)
    router.message(Command("credit", "debit"))(move)
    router.message(Command("refund"))(refund)
    router.message(Command("markup"))(markup)
    router.message(Command("hide"))(hide)
    router.message(Command("unhide"))(unhide)
    router.message(Command("stats"))(stats)
    return router
