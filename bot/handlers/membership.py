"""A person stopping (blocking) or restarting the bot, as Telegram reports it."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import KICKED, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.storage.repositories import UserRepository


async def stopped(event: ChatMemberUpdated, users: UserRepository) -> None:
    # Known at once, rather than at the next notification's 403. A restart needs no handler:
    # PersonMiddleware lifts the mark on any other update from the person.
    await users.set_blocked(event.from_user.id, True)


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="membership")
    router.my_chat_member.filter(F.chat.type == "private")
    router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))(stopped)
    return router
