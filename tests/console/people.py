"""Seeding many people at once: they are rows of the bot's users table, as if they had
written to the bot before."""

from __future__ import annotations

from bot.sandbox.chats import ChatMessage
from tests.bot.harness import ADMIN, Harness


async def seed(harness: Harness, ids: range | list[int], language: str = "en") -> None:
    assert harness.app is not None
    users = harness.app.services.users
    for chat_id in ids:
        await users.ensure(chat_id, language)


def progress_message(harness: Harness) -> ChatMessage | None:
    for message in harness.tg.transcript(ADMIN):
        if message.from_bot and message.text.startswith("Broadcast"):
            return message
    return None


def progress_says(harness: Harness, words: str) -> bool:
    message = progress_message(harness)
    return message is not None and words in message.text


async def broadcast(harness: Harness, text: str, segment: str = "Everyone") -> ChatMessage:
    """The admin's conversation up to the preview; returns the message with Confirm."""
    await harness.say(ADMIN, "/broadcast")
    await harness.say(ADMIN, text)
    await harness.press(ADMIN, "No button")
    return await harness.press(ADMIN, segment)


def received(harness: Harness, chat_id: int, text: str) -> int:
    return sum(1 for m in harness.tg.transcript(chat_id) if m.from_bot and m.text == text)
