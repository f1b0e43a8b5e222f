"""What each private chat shows: its messages (the bot's and the person's), its reply keyboard,
and the people the fake knows, with the JSON Telegram uses for them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChatMessage:
    """A message as a person sees it in the chat (``text`` rendered, HTML tags removed; for a
    photo or document, its caption)."""

    message_id: int
    from_bot: bool
    text: str
    date: int
    raw_text: str
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    edit_date: int | None = None
    deleted: bool = False
    media: str | None = None  # "photo" or "document" when the message is one

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline buttons, row after row."""
        if not self.reply_markup:
            return []
        return [button for row in self.reply_markup.get("inline_keyboard", []) for button in row]

    def button(self, text: str) -> dict[str, Any]:
        """The inline button labelled ``text`` (exactly, or else the only label containing it)."""
        exact = [b for b in self.buttons if b.get("text") == text]
        found = exact or [b for b in self.buttons if text in b.get("text", "")]
        if len(found) != 1:
            labels = [b.get("text") for b in self.buttons]
            raise LookupError(f"{len(found)} buttons match {text!r}; buttons: {labels}")
        return found[0]


@dataclass
class Chat:
    chat_id: int
    first_name: str = "Test"
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    reply_keyboard: dict[str, Any] | None = None

    def add(self, message_id: int | None = None, **fields: Any) -> ChatMessage:
        message = ChatMessage(message_id=message_id or next(self.message_ids), **fields)
        self.messages[message.message_id] = message
        return message

    def visible(self, message_id: Any) -> ChatMessage | None:
        message = self.messages.get(message_id) if isinstance(message_id, int) else None
        return None if message is None or message.deleted else message

    def json(self) -> dict[str, Any]:
        return {"id": self.chat_id, "type": "private", "first_name": self.first_name}


class ChatBook:
    """The chats and people the fake knows, by id (a private chat's id is its person's id)."""

    def __init__(self, bot_user: dict[str, Any]) -> None:
        self.bot_user = bot_user
        self._chats: dict[int, Chat] = {}
        self._users: dict[int, dict[str, Any]] = {}

    def chat(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            user = self._users.get(chat_id, {})
            chat = self._chats[chat_id] = Chat(chat_id, user.get("first_name", "Test"))
        return chat

    def find(self, chat_id: int) -> Chat | None:
        return self._chats.get(chat_id)

    def user(self, user_id: int) -> dict[str, Any] | None:
        user = self._users.get(user_id)
        return dict(user) if user is not None else None

    def remember(
        self,
        user_id: int,
        language_code: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Create or update a person's profile; returns Telegram's User object for them."""
        user = self._users.setdefault(
            user_id,
            {"id": user_id, "is_bot": False, "first_name": first_name or "Test"},
        )
        user.setdefault("language_code", "en")
        if language_code is not None:
            user["language_code"] = language_code
        if first_name is not None:
            user["first_name"] = first_name
            self.chat(user_id).first_name = first_name
        if username is not None:
            user["username"] = username
        return dict(user)

    def message_json(self, chat: Chat, message: ChatMessage) -> dict[str, Any]:
        sender = self.bot_user if message.from_bot else self._users.get(chat.chat_id)
        payload: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat.json(),
        }
        if message.media is None:
            payload["text"] = message.text
        else:
            payload[message.media] = media_json(message.media)
            if message.text:
                payload["caption"] = message.text
        if sender is not None:
            payload["from"] = sender
        if message.reply_markup is not None:
            payload["reply_markup"] = message.reply_markup
        if message.edit_date is not None:
            payload["edit_date"] = message.edit_date
        return payload


def media_json(kind: str, file_name: str = "file.txt") -> Any:
    """Telegram's object for a photo (sizes) or a document, with made-up file ids."""
    if kind == "photo":
        return [{"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 60}]
    return {"file_id": "doc-1", "file_unique_id": "d1", "file_name": file_name}
