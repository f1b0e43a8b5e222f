"""Top-up records: plain values shared by the top-up repository and the rules in
bot.services.topups (which import them from here: storage never imports upwards)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.storage.session import Source


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


# --- the repository (bot.services.topups.TopupStore) -----------------------------------------

S = TopupStatus
# Which state a top-up may move to from which: a stale or concurrent caller changes nothing.
_FROM: dict[TopupStatus, tuple[TopupStatus, ...]] = {
    S.PAID: (S.PENDING, S.EXPIRED, S.REFUNDING),
    S.EXPIRED: (S.PENDING,),
    S.REFUNDED: (S.PAID, S.REFUNDING),
}
_COLUMNS = (
    "id, user_id, provider, amount, stars, status, charge_id, invoice_url, created_at, "
    "expires_at, refund_attempts"
)


class TopupRepository:
    def __init__(self, source: Source, clock: Callable[[], float] = time.time) -> None:
        self._src = source
        self._clock = clock

    async def create(
        self,
        user_id: int,
        provider: Provider,
        amount: int,
        stars: int | None,
        expires_at: float | None,
    ) -> Topup:
        now = self._clock()
        async with self._src.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO topups (user_id, provider, amount, stars, status, created_at, "
                "expires_at, updated_at) VALUES (:user_id, :provider, :amount, :stars, "
                f"'pending', :now, :expires_at, :now) RETURNING {_COLUMNS}",
                {
                    "user_id": user_id,
                    "provider": provider.value,
                    "amount": amount,
                    "stars": stars,
                    "now": now,
                    "expires_at": expires_at,
                },
            )
        assert row is not None
        return _topup(row)

    async def get(self, topup_id: int) -> Topup | None:
        return await self._one("id = :id", {"id": topup_id})

    async def by_charge(self, provider: Provider, charge_id: str) -> Topup | None:
        return await self._one(
            "provider = :provider AND charge_id = :charge",
            {"provider": provider.value, "charge": charge_id},
        )

    async def attach_invoice(self, topup_id: int, invoice_id: str, url: str) -> None:
        async with self._src.transaction() as tx:
            await tx.execute(
                "UPDATE topups SET charge_id = :charge, invoice_url = :url, updated_at = :now "
                "WHERE id = :id AND charge_id IS NULL",
                {"id": topup_id, "charge": invoice_id, "url": url, "now": self._clock()},
            )

    async def settle(self, topup_id: int, status: TopupStatus, charge_id: str | None) -> bool:
        allowed = _FROM.get(status, ())
        if not allowed:
            return False
        # One compare-and-set statement: of two concurrent settlers, one changes the row.
        names = {f"from{i}": s.value for i, s in enumerate(allowed)}
        async with self._src.transaction() as tx:
            changed = await tx.execute(
                "UPDATE topups SET status = :status, "
                "charge_id = COALESCE(charge_id, :charge), updated_at = :now "
                f"WHERE id = :id AND status IN ({', '.join(':' + n for n in names)})",
                {
                    "id": topup_id,
                    "status": status.value,
                    "charge": charge_id,
                    "now": self._clock(),
                    **names,
                },
            )
        return changed > 0

    async def start_refund(self, topup_id: int) -> int | None:
        async with self._src.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE topups SET status = 'refunding', refund_attempts = refund_attempts + 1, "
                "updated_at = :now WHERE id = :id AND status = 'paid' RETURNING refund_attempts",
                {"id": topup_id, "now": self._clock()},
            )
        return None if row is None else int(row[0])

    async def open_invoices(self) -> list[Topup]:
        async with self._src.read() as tx:
            rows = await tx.fetchall(
                f"SELECT {_COLUMNS} FROM topups WHERE provider = 'cryptopay' "
                "AND status = 'pending' AND charge_id IS NOT NULL ORDER BY id",
                {},
            )
        return [_topup(row) for row in rows]

    async def _one(self, where: str, params: dict[str, Any]) -> Topup | None:
        async with self._src.read() as tx:
            row = await tx.fetchone(f"SELECT {_COLUMNS} FROM topups WHERE {where}", params)
        return None if row is None else _topup(row)


def _topup(row: Sequence[Any]) -> Topup:
    return Topup(
        id=int(row[0]),
        user_id=int(row[1]),
        provider=Provider(row[2]),
        amount=int(row[3]),
        stars=None if row[4] is None else int(row[4]),
        status=TopupStatus(row[5]),
        charge_id=row[6],
        invoice_url=row[7],
        created_at=float(row[8]),
        expires_at=None if row[9] is None else float(row[9]),
        refund_attempts=int(row[10]),
    )
