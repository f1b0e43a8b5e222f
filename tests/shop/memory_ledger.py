"""The ledger as a plain in-memory model: the property tests' reference implementation."""

from __future__ import annotations

from dataclasses import dataclass, field

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


class MemoryWorld:
    """A ledger and its restart: a new ledger object over the same durable store."""

    def __init__(self) -> None:
        self._store = MemoryStore()
        self.ledger = MemoryLedger(self._store)

    async def restart(self) -> None:
        self.ledger = MemoryLedger(self._store)

    async def close(self) -> None:
        pass
