"""Local stand-ins for external services, for tests and the sandbox: a fake Telegram Bot API
(fake_telegram, with person, events, faults, webhook, Stars payments), an SMM panel simulator
(simulator) and a Crypto Pay simulator (cryptopay)."""

from bot.sandbox.chats import ChatMessage
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.sandbox.events import ChatEvent, EventKind
from bot.sandbox.fake_telegram import FakeTelegramServer, RecordedCall
from bot.sandbox.person import Person
from bot.sandbox.simulator import Outage, PanelSimulator

__all__ = [
    "ChatEvent",
    "ChatMessage",
    "CryptoPaySimulator",
    "EventKind",
    "FakeTelegramServer",
    "Outage",
    "PanelSimulator",
    "Person",
    "RecordedCall",
]
