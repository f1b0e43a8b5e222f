"""aiogram plumbing: request middleware and adapters between services and the Bot API."""

from bot.telegram.limiter import SendLimiter, sending_at
from bot.telegram.retry import FloodControlMiddleware
from bot.telegram.sender import make_bot_sender

__all__ = ["FloodControlMiddleware", "SendLimiter", "make_bot_sender", "sending_at"]
