"""aiogram plumbing: request middleware and adapters between services and the Bot API."""

from bot.telegram.retry import RetryAfterMiddleware
from bot.telegram.sender import make_bot_sender

__all__ = ["RetryAfterMiddleware", "make_bot_sender"]
