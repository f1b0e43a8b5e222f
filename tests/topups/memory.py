"""In-memory models of the two ports top-ups run on, with the transitions and idempotency the
database repositories must have; the service's rules are tested against these until the
storage rewrite lands, then against the repositories through the same tests."""

from __future__ import annotations

import dataclasses
import itertools
import time

from bot.services.topups import InsufficientFunds, Moved
from bot.storage.topups import Provider, Topup, TopupStatus

S = TopupStatus
TRANSITIONS = {
    (S.PENDING, S.PAID),
    (S.PENDING, S.EXPIRED),
    (S.EXPIRED, S.PAID),
    (S.REFUNDING, S.PAID),
    (S.PAID, S.REFUNDED),
    (S.REFUNDING, S.REFUNDED),
}


class MemoryTopups:
    def __init__(self) -> None:
        self.rows: dict[int, Topup] = {}
        self._ids = itertools.count(1)

    async def create(
        self,
        user_id: int,
        provider: Provider,
        amount: int,
        stars: int | None,
        expires_at: float | None,
    ) -> Topup:
        topup = Topup(
            id=next(self._ids),
            user_id=user_id,
            provider=provider,
            amount=amount,
            stars=stars,
            status=S.PENDING,
            charge_id=None,
            invoice_url=None,
            created_at=time.time(),
            expires_at=expires_at,
        )
        self.rows[topup.id] = topup
        return topup

    async def get(self, topup_id: int) -> Topup | None:
        return self.rows.get(topup_id)

    async def by_charge(self, provider: Provider, charge_id: str) -> Topup | None:
        return next(
            (t for t in self.rows.values() if t.provider is provider and t.charge_id == charge_id),
            None,
        )

    async def attach_invoice(self, topup_id: int, invoice_id: str, url: str) -> None:
        self._replace(topup_id, charge_id=invoice_id, invoice_url=url)

    async def settle(self, topup_id: int, status: TopupStatus, charge_id: str | None) -> bool:
        topup = self.rows[topup_id]
        if (topup.status, status) not in TRANSITIONS:
            return False
        if charge_id is not None and topup.charge_id is None:
            if await self.by_charge(topup.provider, charge_id) is not None:
                raise ValueError("charge IDs are unique")
            self._replace(topup_id, charge_id=charge_id)
        self._replace(topup_id, status=status)
        return True

    async def start_refund(self, topup_id: int) -> int | None:
        topup = self.rows[topup_id]
        if topup.status is not S.PAID:
            return None
        attempt = topup.refund_attempts + 1
        self._replace(topup_id, status=S.REFUNDING, refund_attempts=attempt)
        return attempt

    async def open_invoices(self) -> list[Topup]:
        return [
            t
            for t in self.rows.values()
            if t.provider is Provider.CRYPTOPAY and t.status is S.PENDING and t.charge_id
        ]

    def _replace(self, topup_id: int, **changes: object) -> None:
        self.rows[topup_id] = dataclasses.replace(self.rows[topup_id], **changes)  # type: ignore[arg-type]


class MemoryWallet:
    def __init__(self) -> None:
        self.balances: dict[int, int] = {}
        self.entries: dict[str, tuple[int, int, str]] = {}  # key -> (user, signed amount, ref)

    async def credit(self, user_id: int, amount: int, *, key: str, reference: str) -> Moved:
        return self._post(user_id, amount, key, reference)

    async def debit(self, user_id: int, amount: int, *, key: str, reference: str) -> Moved:
        if key not in self.entries and self.balances.get(user_id, 0) < amount:
            raise InsufficientFunds(self.balances.get(user_id, 0))
        return self._post(user_id, -amount, key, reference)

    async def balance(self, user_id: int) -> int:
        return self.balances.get(user_id, 0)

    def _post(self, user_id: int, signed: int, key: str, reference: str) -> Moved:
        if key in self.entries:
            if self.entries[key] != (user_id, signed, reference):
                raise ValueError(f"key {key} posted before with another movement")
            return Moved(False, self.balances.get(user_id, 0))
        self.entries[key] = (user_id, signed, reference)
        self.balances[user_id] = self.balances.get(user_id, 0) + signed
        return Moved(True, self.balances[user_id])

    def check(self) -> None:
        """The ledger check: every wallet is the sum of its entries and never below zero."""
        sums: dict[int, int] = {}
        for user_id, signed, _reference in self.entries.values():
            sums[user_id] = sums.get(user_id, 0) + signed
        assert sums == {u: b for u, b in self.balances.items() if b or u in sums}
        assert all(b >= 0 for b in self.balances.values())
