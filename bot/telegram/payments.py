"""Telegram's payment messages, which every gate lets through."""

from __future__ import annotations

from aiogram.types import Message, TelegramObject


def is_payment(event: TelegramObject) -> bool:
    """Telegram's word that money moved: dropping one loses a credit (it is sent once)."""
    return isinstance(event, Message) and (
        event.successful_payment is not None or event.refunded_payment is not None
    )
