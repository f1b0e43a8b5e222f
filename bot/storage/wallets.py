"""Wallets and their ledger (the database side of `bot.services.ledger.LedgerPort`).

A post is, in one transaction: the wallet's row locked, the idempotency key looked up (a
replay returns the first entry), the balance moved by a compare-and-set UPDATE that cannot take
it below zero (and the CHECK constraint behind it), and the entry written with the balance that
UPDATE returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.storage.ledger import (
    Entry,
    EntryKind,
    InsufficientFunds,
    KeyConflict,
    Movement,
    Posted,
    same_movement,
)
from bot.storage.session import Session, Source
from bot.storage.tracked import now_or

_ENTRY = (
    "SELECT id, user_id, kind, amount, balance_after, idempotency_key, reference, actor_id, "
    "note, created_at FROM ledger_entries"
)


def _entry(values: Sequence[Any]) -> Entry:
    id_, user_id, kind, amount, after, key, reference, actor_id, note, created_at = values
    return Entry(
        id_, user_id, EntryKind(kind), amount, after, key, reference, actor_id, note, created_at
    )


class WalletRepository:
    def __init__(self, source: Source, *, clock: Callable[[], float] | None = None) -> None:
        self._src = source
        self._clock = clock

    def _now(self) -> float:
        return now_or(None if self._clock is None else self._clock())

    async def post(self, movement: Movement) -> Posted:
        (posted,) = await self.post_together([movement])
        return posted

    async def post_together(self, movements: Sequence[Movement]) -> list[Posted]:
        """Post each movement once per its key, all in one transaction: all or none."""
        async with self._src.transaction() as tx:
            ts = self._now()
            return [await _post(tx, movement, ts) for movement in movements]

    async def balance(self, user_id: int) -> int:
        async with self._src.read() as tx:
            return await _balance(tx, user_id)

    async def history(self, user_id: int, limit: int) -> list[Entry]:
        async with self._src.read() as tx:
            rows = await tx.fetchall(
                f"{_ENTRY} WHERE user_id = :user ORDER BY id DESC LIMIT :limit",
                {"user": user_id, "limit": limit},
            )
        return [_entry(r) for r in rows]

    async def by_key(self, key: str) -> Entry | None:
        async with self._src.read() as tx:
            return await _by_key(tx, key)

    async def wallets(self) -> dict[int, int]:
        async with self._src.read() as tx:
            rows = await tx.fetchall("SELECT user_id, balance FROM wallets", {})
        return {user_id: balance for user_id, balance in rows}

    async def all_entries(self) -> list[Entry]:
        async with self._src.read() as tx:
            rows = await tx.fetchall(f"{_ENTRY} ORDER BY id", {})
        return [_entry(r) for r in rows]


async def _by_key(tx: Session, key: str) -> Entry | None:
    row = await tx.fetchone(f"{_ENTRY} WHERE idempotency_key = :key", {"key": key})
    return None if row is None else _entry(row)


async def _balance(tx: Session, user_id: int) -> int:
    row = await tx.fetchone("SELECT balance FROM wallets WHERE user_id = :user", {"user": user_id})
    return 0 if row is None else int(row[0])


async def _post(tx: Session, movement: Movement, ts: float) -> Posted:
    # The wallet's row made or locked (the no-op update) before the key is looked up: a second
    # post of the same key at the same moment (Crypto Pay's webhook and 'I have paid', the
    # tracker and a refresh) waits here and then finds the first's entry, instead of failing on
    # the key's uniqueness.
    await tx.execute(
        "INSERT INTO wallets (user_id, balance, created_at, updated_at) "
        "VALUES (:user, 0, :ts, :ts) "
        "ON CONFLICT (user_id) DO UPDATE SET balance = wallets.balance",
        {"user": movement.user_id, "ts": ts},
    )
    known = await _by_key(tx, movement.key)
    if known is not None:
        if not same_movement(known, movement):
            raise KeyConflict(movement.key)
        return Posted(known, fresh=False)
    # Compare-and-set: of two debits racing for the last cent, one finds no row.
    row = await tx.fetchone(
        "UPDATE wallets SET balance = balance + :amount, updated_at = :ts "
        "WHERE user_id = :user AND balance + :amount >= 0 RETURNING balance",
        {"user": movement.user_id, "amount": movement.signed, "ts": ts},
    )
    if row is None:
        balance = await _balance(tx, movement.user_id)
        raise InsufficientFunds(balance, movement.amount)
    entry_row = await tx.fetchone(
        "INSERT INTO ledger_entries (user_id, kind, amount, balance_after, "
        "idempotency_key, reference, actor_id, note, created_at) "
        "VALUES (:user, :kind, :amount, :after, :key, :reference, :actor, :note, :ts) "
        "RETURNING id",
        {
            "user": movement.user_id,
            "kind": movement.kind.value,
            "amount": movement.signed,
            "after": row[0],
            "key": movement.key,
            "reference": movement.reference,
            "actor": movement.actor_id,
            "note": movement.note,
            "ts": ts,
        },
    )
    assert entry_row is not None
    entry = Entry(
        entry_row[0],
        movement.user_id,
        movement.kind,
        movement.signed,
        row[0],
        movement.key,
        movement.reference,
        movement.actor_id,
        movement.note,
        ts,
    )
    return Posted(entry, fresh=True)
