"""Local stand-ins for external services, for tests and the local sandbox."""

from bot.sandbox.fake_telegram import ChatMessage, FakeTelegramServer, RecordedCall

__all__ = ["ChatMessage", "FakeTelegramServer", "RecordedCall"]
