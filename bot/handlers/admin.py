"""Admins: orders whose placement outcome is unknown, and settling them after checking the panel."""

from __future__ import annotations

from collections.abc import Collection

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import InlineKeyboardMarkup, Message, TelegramObject, User

from bot.config import Settings
from bot.domain import Placement
from bot.handlers.telling import tell
from bot.handlers.waiting import panel_wait
from bot.i18n import CatalogI18n, _
from bot.keyboards import menus
from bot.services.accounts import AccountResolver
from bot.services.ordering import OrderService
from bot.services.shop import ShopService
from bot.storage.repositories import OrderRepository, UserRepository
from bot.texts import order_title, when
from bot.views.markup import Limit, escaped
from bot.views.shop import ShopMoney, refunded

LISTING_CHARS = 3800  # below Telegram's 4096, with room for the "more" line


async def unknown_orders(message: Message, orders: OrderRepository) -> None:
    unknown = await orders.list_unknown()
    if not unknown:
        await message.answer(_("No order has an unknown outcome."))
        return
    lines = [_("<b>Orders of unknown outcome</b> (check them on the panel):")]
    footer = _("Settle one with /resolve LOCAL_ID PANEL_ORDER_ID, or /resolve LOCAL_ID none.")
    room = LISTING_CHARS - len(lines[0]) - len(footer)
    for shown, order in enumerate(unknown):
        line = _("Local {id} · person <code>{owner}</code> · {service} · {link} · {time}").format(
            id=order.id,
            owner=order.owner_id,
            service=escaped(order.service_name, Limit.LISTED),
            link=escaped(order.link or "—", Limit.LISTED),
            time=when(order.created_at),
        )
        room -= len(line) + 1
        if room < 0:
            # The oldest come first: settling them brings the rest into view.
            lines.append(_("… and {count} more.").format(count=len(unknown) - shown))
            break
        lines.append(line)
    lines.append(footer)
    await message.answer("\n".join(lines))


async def resolve(
    message: Message,
    command: CommandObject,
    settings: Settings,
    orders: OrderRepository,
    ordering: OrderService,
    accounts: AccountResolver,
    users: UserRepository,
    i18n: CatalogI18n,
    bot: Bot,
    shop: ShopService | None,
) -> None:
    parts = (command.args or "").split()
    usage = _("Usage: /resolve LOCAL_ID PANEL_ORDER_ID, or /resolve LOCAL_ID none")
    if (
        len(parts) != 2
        or not parts[0].isdecimal()
        or not (parts[1].isdecimal() or parts[1].lower() == "none")
    ):
        await message.answer(usage)
        return
    order = await orders.get(int(parts[0]))
    if order is None or order.placement is not Placement.UNKNOWN:
        await message.answer(
            _("No order of unknown outcome has local ID {id}.").format(id=parts[0])
        )
        return
    account = (await accounts.by_label()).get(order.account)
    if account is None:
        await message.answer(_("The key this order was placed with is no longer connected."))
        return
    panel_id = int(parts[1]) if parts[1].isdecimal() else None
    async with panel_wait(message, settings):
        resolved = await ordering.resolve_unknown(order, account, panel_id)
    if not resolved:
        await message.answer(_("Not changed: that panel order is already recorded."))
        return
    settled = await orders.get(order.id)
    assert settled is not None
    await message.answer(_("Settled: {title}.").format(title=order_title(settled)))
    # A shop refunded the order with the settlement: the person hears how much came back.
    refund = await shop.refund_of(settled.id) if shop is not None and panel_id is None else None

    def text() -> tuple[str, InlineKeyboardMarkup | None]:
        if refund is not None and shop is not None:
            line = (
                _("We checked: your order of “{service}” was not placed.")
                + "\n"
                + refunded(
                    ShopMoney(shop.currency, shop.digits), refund.amount, refund.balance_after
                )
            )
        elif panel_id is None:
            line = _(
                "We checked: your order of “{service}” was not placed, and nothing was charged."
            )
        else:
            line = _("We checked: your order of “{service}” was placed as {title}.")
        line = line.format(
            service=escaped(settled.service_name, Limit.NAME), title=order_title(settled)
        )
        return line, menus.order_link(settled)

    await tell(bot, users, i18n, settled.owner_id, text, message)


class FromAdmins(Filter):
    """The admins' routers' gate, checked for every update the public routers leave: a
    coroutine, as a magic filter would be run in a worker thread (bot.runners.inline_filters
    reaches the handlers' filters, not a router's)."""

    def __init__(self, admin_ids: Collection[int]) -> None:
        self._admin_ids = admin_ids

    async def __call__(self, event: TelegramObject, event_from_user: User | None = None) -> bool:
        return event_from_user is not None and event_from_user.id in self._admin_ids


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="admin")
    router.message(Command("unknown"))(unknown_orders)
    router.message(Command("resolve"))(resolve)
    return router
