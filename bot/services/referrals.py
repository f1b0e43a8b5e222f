"""Referrals: a person's link brings new people to the bot; a share of what those people pay
into their wallets is credited to the one who brought them.

The link is ``t.me/<bot>?start=r<code>``. The code is random (72 bits, URL-safe), made the first
time a person asks for their link and stored: stable, and unguessable, so nobody can claim
another's referrals or tell from a link whose it is (a Telegram ID in clear would say who
shared it, and anyone could make links for people who never shared one).

Attribution happens once, in the statement that creates a new person's row
(bot.storage.users.UserRepository.ensure): nobody is attributed later, or to themselves.

A commission is a REFERRAL_COMMISSION ledger entry, posted in the transaction that credits the
top-up, keyed on that credit: a replayed payment pays it once. Admin credits pay none (only real
payments do), and a Stars refund leaves it where it is (README: the commission stays).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Protocol

from bot.storage.ledger import EntryKind, Movement

PAYLOAD_PREFIX = "r"
# A deep link's payload is [A-Za-z0-9_-], at most 64 characters.
_PAYLOAD = re.compile(r"r([A-Za-z0-9_-]{1,63})")


def new_code() -> str:
    return secrets.token_urlsafe(9)  # 12 characters


def code_from_start(payload: str | None) -> str | None:
    """The referral code a /start payload carries, or None (no payload, or not a referral's)."""
    if not payload:
        return None
    found = _PAYLOAD.fullmatch(payload)
    return found.group(1) if found else None


def start_payload(code: str) -> str:
    return PAYLOAD_PREFIX + code


def commission(amount: int, percent: Decimal) -> int:
    """`percent` of `amount` minor units, rounded down (the shop never pays a fraction more)."""
    exact = Decimal(amount) * percent / 100
    return int(exact.to_integral_value(rounding=ROUND_FLOOR))


COMMISSION_SUFFIX = ":commission"


def commission_key(credit_key: str) -> str:
    return credit_key + COMMISSION_SUFFIX


class ReferralStore(Protocol):
    async def referrer_of(self, user_id: int) -> int | None: ...

    async def code_of(self, user_id: int, new: str) -> str:
        """The person's code; `new` becomes it if they had none."""
        ...

    async def brought(self, user_id: int) -> int:
        """How many people the person brought."""
        ...

    async def earned(self, user_id: int) -> int:
        """Their commissions' sum, in minor units."""
        ...


@dataclass(frozen=True, slots=True)
class Figures:
    code: str
    brought: int
    earned: int


class Referrals:
    def __init__(self, store: ReferralStore, percent: Decimal) -> None:
        self._store = store
        self.percent = percent

    async def figures(self, user_id: int) -> Figures:
        code = await self._store.code_of(user_id, new_code())
        return Figures(code, await self._store.brought(user_id), await self._store.earned(user_id))

    async def referrer_of(self, user_id: int) -> int | None:
        return await self._store.referrer_of(user_id)

    async def brought(self, user_id: int) -> int:
        return await self._store.brought(user_id)

    async def commission_for(
        self, payer_id: int, amount: int, *, credit_key: str, reference: str
    ) -> Movement | None:
        """The referrer's commission on a payment credited under `credit_key`; None when there
        is none (off, nobody brought the payer, or it rounds to nothing)."""
        if self.percent <= 0:
            return None
        share = commission(amount, self.percent)
        if share <= 0:
            return None
        referrer = await self._store.referrer_of(payer_id)
        if referrer is None or referrer == payer_id:
            return None
        return Movement(
            referrer,
            EntryKind.REFERRAL_COMMISSION,
            share,
            commission_key(credit_key),
            reference,
            note=f"referral of {payer_id}",
        )
