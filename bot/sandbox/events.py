"""Notifications out of the fake Bot API.

``EventFeed``: what happens in the chats (a message sent, edited or deleted, a button pressed, a
callback answered...), for anyone who shows the chats live, such as a web page pushing them
over server-sent events. ``Changes``: a bare "something changed" signal (a call answered, an
update queued or delivered) for whoever waits for a condition over the fake's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.sandbox.chats import ChatMessage


class EventKind(StrEnum):
    # By the bot or by the person (``message.from_bot``); the bot's carry details:
    # reply_keyboard, the keyboard the chat shows under its input field from then on (or None).
    MESSAGE_SENT = "message_sent"
    MESSAGE_EDITED = "message_edited"
    MESSAGE_DELETED = "message_deleted"
    BUTTON_PRESSED = "button_pressed"  # details: query_id, callback_data
    CALLBACK_ANSWERED = "callback_answered"  # details: query_id, text, show_alert
    CHAT_ACTION = "chat_action"  # details: action ("typing"...)
    MEMBER_CHANGED = "member_changed"  # details: status ("kicked" after leaving, "member")
    COMMANDS_CHANGED = "commands_changed"  # details: scope, language_code, commands


@dataclass(frozen=True)
class ChatEvent:
    kind: EventKind
    chat_id: int | None
    message: ChatMessage | None = None  # a copy, as the message was at that moment
    details: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        """A JSON-ready form (for server-sent events)."""
        message = None if self.message is None else dataclasses.asdict(self.message)
        return {
            "kind": self.kind.value,
            "chat_id": self.chat_id,
            "message": message,
            "details": self.details,
        }


class EventFeed:
    """Fan-out of chat events to any number of subscribers, each with its own queue."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[ChatEvent]] = set()

    def publish(
        self,
        kind: EventKind,
        chat_id: int | None,
        message: ChatMessage | None = None,
        **details: Any,
    ) -> None:
        snapshot = None if message is None else dataclasses.replace(message)
        event = ChatEvent(kind, chat_id, snapshot, details)
        for queue in self._queues:
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[ChatEvent]]:
        """``async with feed.subscribe() as events: async for event in events: ...``

        Events published after ``subscribe`` are all seen, in order; none before it.
        """
        queue: asyncio.Queue[ChatEvent] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield _drain(queue)
        finally:
            self._queues.discard(queue)


async def _drain(queue: asyncio.Queue[ChatEvent]) -> AsyncIterator[ChatEvent]:
    while True:
        yield await queue.get()


class Changes:
    """An event set at every change, replaced by a fresh one each time."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    def next(self) -> asyncio.Event:
        """The event the next change sets (take it before checking the condition you wait on)."""
        return self._event
