"""Admins: orders whose placement outcome is unknown, and settling them after checking the panel."""

from __future__ import annotations

from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.config import Settings
from bot.i18n import CatalogI18n, _
from bot.keyboards import menus
from bot.services.accounts import AccountResolver
from bot.services.ordering import OrderService
from bot.storage.repositories import OrderRepository, UserRepository
from bot.texts import order_title, when


def _is_admin(message: Message, settings: Settings) -> bool:
    return message.from_user is not None and message.from_user.id in settings.admin_ids


async def unknown_orders(message: Message, settings: Settings, orders: OrderRepository) -> None:
    if not _is_admin(message, settings):
        return
    unknown = await orders.list_unknown()
    if not unknown:
        await message.answer(_("No order has an unknown outcome."))
        return
    lines = [_("<b>Orders of unknown outcome</b> (check them on the panel):")]
    for order in unknown[:50]:
        lines.append(
            _("Local {id} · person <code>{owner}</code> · {service} · {link} · {time}").format(
                id=order.id,
                owner=order.owner_id,
                service=escape(order.service_name),
                link=escape(order.link or "—"),
                time=when(order.created_at),
            )
        )
    lines.append(_("Settle one with /resolve LOCAL_ID PANEL_ORDER_ID, or /resolve LOCAL_ID none."))
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
) -> None:
    if not _is_admin(message, settings):
        return
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
    if order is None or order.placement != "unknown":
        await message.answer(
            _("No order of unknown outcome has local ID {id}.").format(id=parts[0])
        )
        return
    account = (await accounts.by_label()).get(order.account)
    if account is None:
        await message.answer(_("The key this order was placed with is no longer connected."))
        return
    panel_id = int(parts[1]) if parts[1].isdecimal() else None
    if not await ordering.resolve_unknown(order, account, panel_id):
        await message.answer(_("Not changed: that panel order is already recorded."))
        return
    settled = await orders.get(order.id)
    assert settled is not None
    await message.answer(_("Settled: {title}.").format(title=order_title(settled)))
    owner = await users.get(settled.owner_id)
    with i18n.use_locale(owner.language if owner and owner.language else i18n.default_locale):
        if panel_id is None:
            text = _(
                "We checked: your order of “{service}” was not placed, and nothing was charged."
            )
        else:
            text = _("We checked: your order of “{service}” was placed as {title}.")
        text = text.format(service=escape(settled.service_name), title=order_title(settled))
        await bot.send_message(settled.owner_id, text, reply_markup=menus.order_link(settled))


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="admin")
    router.message(Command("unknown"))(unknown_orders)
    router.message(Command("resolve"))(resolve)
    return router
