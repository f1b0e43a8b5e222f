"""Messages that may hold a panel key: recognised and deleted wherever they arrive.

Shared by the /connect conversation, flood control and the group-chat guard, so it lives
below all of them.
"""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message


class ConnectForm(StatesGroup):
    key = State()


async def delete_at_once(message: Message) -> None:
    """Deletes a message that may hold a key; best effort.

    Telegram refuses some deletes (the message is already gone, or the bot may not delete in
    a group): the person still gets their answer.
    """
    with contextlib.suppress(TelegramBadRequest):
        await message.delete()


def may_hold_key(message: Message, raw_state: str | None) -> bool:
    """Whether the message may hold a panel key: the answer to the question, or /connect KEY."""
    if raw_state == ConnectForm.key.state:
        return True
    # Matched as the Command filter matches it, so that what `connect` would read is covered.
    head, *args = (message.text or message.caption or "").split(maxsplit=1)
    return bool(args) and head.partition("@")[0] == "/connect"
