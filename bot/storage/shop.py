"""The shop's own tables: markup and hiding overrides, and the figures behind /stats."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bot.storage.session import Source
from bot.storage.tracked import now_or

Scope = Literal["default", "service", "category"]


@dataclass(frozen=True, slots=True)
class Override:
    scope: Scope
    target: str  # a service ID or a category name
    markup: Decimal | None  # None: inherited
    hidden: bool


@dataclass(frozen=True, slots=True)
class Sale:
    """One order sold: its charge, its refund (0: none) and its panel cost, in minor units."""

    charge: int
    refund: int
    cost: int


@dataclass(frozen=True, slots=True)
class Figures:
    people: int
    held: int  # money in every wallet


class ShopRepository:
    def __init__(self, source: Source) -> None:
        self._src = source

    async def overrides(self) -> list[Override]:
        async with self._src.read() as tx:
            rows = await tx.fetchall(
                "SELECT scope, target, markup, hidden FROM shop_overrides ORDER BY scope, target"
            )
        return [
            Override(scope, target, None if markup is None else Decimal(markup), bool(hidden))
            for scope, target, markup, hidden in rows
        ]

    async def set_markup(
        self,
        scope: Scope,
        target: str,
        markup: Decimal | None,
        admin_id: int,
        *,
        now: float | None = None,
    ) -> None:
        await self._upsert(
            scope, target, "markup", None if markup is None else str(markup), admin_id, now
        )

    async def set_hidden(
        self, scope: Scope, target: str, hidden: bool, admin_id: int, *, now: float | None = None
    ) -> None:
        await self._upsert(scope, target, "hidden", hidden, admin_id, now)

    async def _upsert(
        self,
        scope: Scope,
        target: str,
        column: Literal["markup", "hidden"],
        value: object,
        admin_id: int,
        now: float | None,
    ) -> None:
        markup = value if column == "markup" else None
        hidden = value if column == "hidden" else False
        async with self._src.transaction() as tx:
            await tx.execute(
                "INSERT INTO shop_overrides "
                "(scope, target, markup, hidden, updated_by, updated_at) "
                "VALUES (:scope, :target, :markup, :hidden, :admin, :ts) "
                f"ON CONFLICT (scope, target) DO UPDATE SET {column} = excluded.{column}, "
                "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                {
                    "scope": scope,
                    "target": target,
                    "markup": markup,
                    "hidden": hidden,
                    "admin": admin_id,
                    "ts": now_or(now),
                },
            )

    async def figures(self) -> Figures:
        async with self._src.read() as tx:
            people = await tx.fetchone("SELECT count(*) FROM users")
            held = await tx.fetchone("SELECT coalesce(sum(balance), 0) FROM wallets")
        assert people is not None and held is not None
        return Figures(int(people[0]), int(held[0]))

    async def topups(self, since: float) -> int:
        async with self._src.read() as tx:
            row = await tx.fetchone(
                "SELECT coalesce(sum(amount), 0) FROM ledger_entries "
                "WHERE kind = 'topup' AND created_at >= :since",
                {"since": since},
            )
        assert row is not None
        return int(row[0])

    async def sales(self, since: float) -> list[Sale]:
        """Every order sold since `since`, with what came back of it."""
        async with self._src.read() as tx:
            rows = await tx.fetchall(
                "SELECT -c.amount, coalesce(r.amount, 0), s.cost FROM shop_sales s "
                "JOIN ledger_entries c ON c.idempotency_key = 'order:' || s.order_id || ':charge' "
                "LEFT JOIN ledger_entries r "
                "ON r.idempotency_key = 'order:' || s.order_id || ':refund' "
                "WHERE s.created_at >= :since",
                {"since": since},
            )
        return [Sale(int(charge), int(refund), int(cost)) for charge, refund, cost in rows]
