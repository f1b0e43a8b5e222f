"""Local stand-ins for external services, for tests and the sandbox: a fake Telegram Bot API
(fake_telegram, with person, events, faults, webhook) and an SMM panel simulator (simulator)."""

from bot.sandbox.chats import ChatMessage
from bot.sandbox.events import ChatEvent, EventKind
from bot.sandbox.fake_telegram import FakeTelegramServer, RecordedCall
from bot.sandbox.person import Person
from bot.sandbox.simulator import Outage, PanelSimulator

__all__ = [
    "ChatEvent",
    "ChatMessage",
    "EventKind",
    "FakeTelegramServer",
    "Outage",
    "PanelSimulator",
    "Person",
    "RecordedCall",
]
