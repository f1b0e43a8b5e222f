"""A person in a private chat with the bot: what they can do in Telegram, turned into the updates
Telegram would send (and into their own messages in the chat, so that the chat reads as theirs).

Paying a Stars invoice is in payments.py (``fake.payments.pay(user_id, message_id)``).
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any

from bot.sandbox.chats import ChatBook, media_json
from bot.sandbox.events import EventFeed, EventKind
from bot.sandbox.updates import UpdateQueue

if TYPE_CHECKING:
    from bot.sandbox.faults import Faults

_callback_ids = itertools.count(4_000_000_000_000_000_001)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Person:
    """Made by ``FakeTelegramServer.person(user_id, ...)``; profile changes apply from then on."""

    def __init__(
        self,
        user_id: int,
        *,
        chats: ChatBook,
        updates: UpdateQueue,
        events: EventFeed,
        faults: Faults,
        pending_queries: dict[str, int],
    ) -> None:
        self.user_id = user_id
        self._chats = chats
        self._updates = updates
        self._events = events
        self._faults = faults
        self._pending_queries = pending_queries

    @property
    def user(self) -> dict[str, Any]:
        """Telegram's User object for this person."""
        return self._chats.remember(self.user_id)

    def send_text(self, text: str) -> int:
        """Write ``text`` to the bot; returns the new message's id."""
        entities = []
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        return self._message_update(text, text=text, **({"entities": entities} if entities else {}))

    def send_photo(self, caption: str = "") -> int:
        """Send a photo, with ``caption`` under it; returns the message's id."""
        return self._message_update(caption, media="photo", caption=caption)

    def send_document(self, file_name: str = "file.txt", caption: str = "") -> int:
        """Send a file, with ``caption`` under it; returns the message's id."""
        return self._message_update(caption, media="document", file_name=file_name, caption=caption)

    def press(self, message_id: int, callback_data: str) -> str:
        """Press the inline button carrying ``callback_data`` on a bot message; the query id."""
        chat = self._chats.chat(self.user_id)
        message = chat.visible(message_id)
        if message is None or not message.from_bot:
            raise LookupError(f"chat {self.user_id} shows no bot message {message_id}")
        if not any(b.get("callback_data") == callback_data for b in message.buttons):
            raise LookupError(f"message {message_id} has no button with {callback_data!r}")
        return self.forge_press(message_id, callback_data)

    def press_button(self, label: str, message_id: int | None = None) -> str:
        """Press the button labelled ``label`` (see ``ChatMessage.button``) on the message (by
        default the newest bot message); returns the query id."""
        chat = self._chats.chat(self.user_id)
        bot_messages = [m for m in chat.messages.values() if m.from_bot and not m.deleted]
        if message_id is None and not bot_messages:
            raise LookupError(f"chat {self.user_id} shows no bot message")
        message = chat.visible(message_id) if message_id is not None else bot_messages[-1]
        if message is None:
            raise LookupError(f"chat {self.user_id} shows no bot message {message_id}")
        return self.press(message.message_id, str(message.button(label)["callback_data"]))

    def forge_press(self, message_id: int, callback_data: str) -> str:
        """A callback query claiming to come from ``message_id`` with any data, as a modified
        client can send it (Telegram does not check that the button exists); the query id.
        The bot may answer it, as Telegram allows."""
        chat = self._chats.chat(self.user_id)
        message = chat.messages.get(message_id)
        query_id = str(next(_callback_ids))
        self._pending_queries[query_id] = self.user_id
        query: dict[str, Any] = {
            "id": query_id,
            "from": self.user,
            "chat_instance": str(-self.user_id),
            "data": callback_data,
        }
        if message is not None:
            query["message"] = self._chats.message_json(chat, message)
        else:  # Telegram sends a stub for a message it cannot show
            query["message"] = {"message_id": message_id, "chat": chat.json(), "date": 0}
        self._events.publish(
            EventKind.BUTTON_PRESSED,
            self.user_id,
            message,
            query_id=query_id,
            callback_data=callback_data,
        )
        self._updates.add({"callback_query": query})
        return query_id

    def leave(self) -> int:
        """Stop and block the bot: calls to the chat answer 403 from now, and the bot is told
        with a ``my_chat_member`` update. Returns the update id."""
        self._faults.block_chat(self.user_id)
        return self._member_update("member", "kicked")

    def rejoin(self) -> int:
        """Unblock the bot (Telegram's Restart button)."""
        self._faults.unblock_chat(self.user_id)
        return self._member_update("kicked", "member")

    def _member_update(self, old: str, new: str) -> int:
        def member(status: str) -> dict[str, Any]:
            kicked = {"until_date": 0} if status == "kicked" else {}
            return {"user": self._chats.bot_user, "status": status, **kicked}

        self._events.publish(EventKind.MEMBER_CHANGED, self.user_id, status=new)
        return self._updates.add(
            {
                "my_chat_member": {
                    "chat": self._chats.chat(self.user_id).json(),
                    "from": self.user,
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def _message_update(
        self,
        shown: str,
        *,
        media: str | None = None,
        file_name: str = "file.txt",
        **content: Any,
    ) -> int:
        """Put the person's message in the chat and queue the update; the message's id."""
        user = self.user
        chat = self._chats.chat(self.user_id)
        message = chat.add(
            from_bot=False, text=shown, raw_text=shown, date=int(time.time()), media=media
        )
        payload: dict[str, Any] = {
            "message_id": message.message_id,
            "from": user,
            "chat": chat.json(),
            "date": message.date,
            **{key: value for key, value in content.items() if value != ""},
        }
        if media is not None:
            payload[media] = media_json(media, file_name)
        self._events.publish(EventKind.MESSAGE_SENT, self.user_id, message)
        self._updates.add({"message": payload})
        return message.message_id
