"""Top-up records: plain values shared by the top-up repository and the rules in
bot.services.topups (which import them from here: storage never imports upwards)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Provider(StrEnum):
    STARS = "stars"
    CRYPTOPAY = "cryptopay"


class TopupStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    REFUNDING = "refunding"  # the wallet was debited; Telegram's answer to the refund is unknown
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class Topup:
    id: int
    user_id: int
    provider: Provider
    amount: int  # minor units of the shop currency
    stars: int | None  # the Stars price (Stars top-ups only)
    status: TopupStatus
    charge_id: str | None  # Telegram's charge ID or Crypto Pay's invoice ID; unique
    invoice_url: str | None
    created_at: float
    expires_at: float | None
    refund_attempts: int = 0

    @property
    def payload(self) -> str:
        """The invoice's opaque payload: the top-up's own ID (far below Telegram's 128 bytes)."""
        return str(self.id)
