"""The ledger as a plain in-memory model: the property tests' reference implementation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.services.ledger import charge_key, charge_order, refund_in_full, refund_order
from bot.services.shop_pricing import refund_for
from bot.storage.ledger import (
    Entry,
    InsufficientFunds,
    KeyConflict,
    Movement,
    Posted,
    same_movement,
)


@dataclass
class MemoryStore:
    """What survives a restart."""

    balances: dict[int, int] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    by_key: dict[str, Entry] = field(default_factory=dict)
    # order ID → (quantity, last status stored)
    orders: dict[int, tuple[int, str | None]] = field(default_factory=dict)


class MemoryLedger:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def post(self, movement: Movement) -> Posted:
        known = self._store.by_key.get(movement.key)
        if known is not None:
            if not same_movement(known, movement):
                raise KeyConflict(movement.key)
            return Posted(known, fresh=False)
        balance = self._store.balances.get(movement.user_id, 0)
        after = balance + movement.signed
        if after < 0:
            raise InsufficientFunds(balance, movement.amount)
        entry = Entry(
            id=len(self._store.entries) + 1,
            user_id=movement.user_id,
            kind=movement.kind,
            amount=movement.signed,
            balance_after=after,
            key=movement.key,
            reference=movement.reference,
            actor_id=movement.actor_id,
            note=movement.note,
            created_at=0.0,
        )
        self._store.entries.append(entry)
        self._store.by_key[entry.key] = entry
        self._store.balances[entry.user_id] = after
        return Posted(entry, fresh=True)

    async def post_together(self, movements: Sequence[Movement]) -> list[Posted]:
        before = (dict(self._store.balances), list(self._store.entries), dict(self._store.by_key))
        try:
            return [await self.post(movement) for movement in movements]
        except Exception:
            # All or none, as one database transaction.
            self._store.balances, self._store.entries, self._store.by_key = before
            raise

    async def balance(self, user_id: int) -> int:
        return self._store.balances.get(user_id, 0)

    async def history(self, user_id: int, limit: int) -> list[Entry]:
        mine = [e for e in self._store.entries if e.user_id == user_id]
        return mine[::-1][:limit]

    async def by_key(self, key: str) -> Entry | None:
        return self._store.by_key.get(key)

    async def wallets(self) -> dict[int, int]:
        return dict(self._store.balances)

    async def all_entries(self) -> list[Entry]:
        return list(self._store.entries)


class MemoryOrders:
    """What ShopOrders does with money, without a database: the reference for the property
    tests (each step of an order moves money as the shop's rules say, nothing else)."""

    def __init__(self, store: MemoryStore, ledger: MemoryLedger) -> None:
        self._store = store
        self._ledger = ledger

    async def open(self, user: int, price: int, quantity: int) -> int:
        order_id = len(self._store.orders) + 1
        await charge_order(self._ledger, user, order_id, price)
        self._store.orders[order_id] = (quantity, None)
        return order_id

    async def placed(self, order_id: int) -> None:
        pass

    async def unknown(self, order_id: int) -> None:
        pass

    async def failed(self, order_id: int) -> None:
        await refund_in_full(self._ledger, order_id)

    async def not_placed(self, order_id: int) -> None:
        await refund_in_full(self._ledger, order_id)

    async def status(self, order_id: int, status: str, remains: int) -> None:
        quantity, before = self._store.orders[order_id]
        if before == status:
            return  # no change: nothing to store, nothing to refund
        self._store.orders[order_id] = (quantity, status)
        charge = self._store.by_key[charge_key(order_id)]
        await refund_order(
            self._ledger, order_id, refund_for(-charge.amount, status, quantity, remains)
        )


class MemoryWorld:
    """A ledger and its restart: new objects over the same durable store."""

    def __init__(self) -> None:
        self._store = MemoryStore()
        self.ledger = MemoryLedger(self._store)
        self.orders = MemoryOrders(self._store, self.ledger)

    async def restart(self) -> None:
        self.ledger = MemoryLedger(self._store)
        self.orders = MemoryOrders(self._store, self.ledger)

    async def close(self) -> None:
        pass
