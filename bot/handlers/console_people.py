"""Admins: one person's card (/user ID or @username), /ban ID and /unban ID."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.i18n import _
from bot.services.people import People
from bot.services.referrals import Referrals
from bot.storage.repositories import OrderRepository, UserRepository
from bot.texts import order_title, status_label, when
from bot.views.markup import Limit, escaped, fit

LAST_ORDERS = 5


async def _target(message: Message, command: CommandObject, people: People) -> int | None:
    query = (command.args or "").strip()
    found = await people.find(query) if query else None
    if found is None:
        await message.answer(
            _("Nobody found. Usage: /{command} ID or /{command} @username").format(
                command=command.command
            )
        )
    return found


async def user_card(
    message: Message,
    command: CommandObject,
    people: People,
    users: UserRepository,
    orders: OrderRepository,
    referrals: Referrals,
) -> None:
    person_id = await _target(message, command, people)
    if person_id is None:
        return
    person = await users.get(person_id)
    if person is None:
        await message.answer(_("Nobody with ID {id} has used the bot.").format(id=person_id))
        return
    username = await people.username(person_id)
    yes, no = _("yes"), _("no")
    lines = [
        _("<b>Person</b> <code>{id}</code>").format(id=person_id),
        _("Username: {username}").format(
            username=f"@{escaped(username, Limit.NAME)}" if username else "—"
        ),
        _("Language: {language}").format(language=escaped(person.language or "—", Limit.STATUS)),
        _("Joined: {time}").format(time=when(person.created_at)),
        _("Blocked the bot: {answer}").format(answer=yes if person.blocked else no),
        _("Banned: {answer}").format(answer=yes if await people.is_banned(person_id) else no),
        _("Orders: {count}").format(count=await orders.count_for_owner(person_id)),
        _("Referred by: {who}").format(who=_referrer(await referrals.referrer_of(person_id))),
        _("People they brought: {count}").format(count=await referrals.brought(person_id)),
    ]
    for order in await orders.list_for_owner(person_id, offset=0, limit=LAST_ORDERS):
        lines.append(
            _("{title} · {service} · {status} · {time}").format(
                title=order_title(order),
                service=escaped(order.service_name, Limit.LISTED),
                status=status_label(order.status),
                time=when(order.created_at),
            )
        )
    await message.answer(fit("\n".join(lines)))


def _referrer(referrer_id: int | None) -> str:
    return "—" if referrer_id is None else f"<code>{referrer_id}</code>"


async def ban(message: Message, command: CommandObject, people: People) -> None:
    person_id = await _target(message, command, people)
    if person_id is None:
        return
    banned = command.command == "ban"
    await people.ban(person_id, banned)
    if banned:
        text = _(
            "Banned <code>{id}</code>: they get one polite line and nothing else; "
            "their open orders are still tracked."
        )
    else:
        text = _("Unbanned <code>{id}</code>.")
    await message.answer(text.format(id=person_id))


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only. Admins only: the
    factory includes it in the admin router."""
    router = Router(name="console-people")
    router.message(Command("user"))(user_card)
    router.message(Command("ban", "unban"))(ban)
    return router
