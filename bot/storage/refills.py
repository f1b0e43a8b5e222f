"""Refills of orders: recorded once per panel refill, tracked like orders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.storage.rows import RefillRow, RefillStatusUpdate
from bot.storage.tracked import TrackedRepository, now_or


class RefillRepository(TrackedRepository[RefillRow]):
    TABLE = "refills"
    COLUMNS = (
        "id, order_id, panel_refill_id, owner_id, account, status, notified_status, final, "
        "next_poll_at, poll_interval, created_at, updated_at"
    )
    UPDATE_SET = (
        "status = :status, final = :final, next_poll_at = :next_poll_at, "
        "poll_interval = :poll_interval"
    )
    ANSWER = ("status", "final", "next_poll_at", "poll_interval")

    @staticmethod
    def row(values: Sequence[Any]) -> RefillRow:
        (
            id_,
            order_id,
            panel_refill_id,
            owner_id,
            account,
            status,
            notified_status,
            final,
            next_poll_at,
            poll_interval,
            created_at,
            updated_at,
        ) = values
        return RefillRow(
            id=id_,
            order_id=order_id,
            panel_refill_id=panel_refill_id,
            owner_id=owner_id,
            account=account,
            status=status,
            notified_status=notified_status,
            final=bool(final),
            next_poll_at=next_poll_at,
            poll_interval=poll_interval,
            created_at=created_at,
            updated_at=updated_at,
        )

    async def create(
        self,
        order_id: int,
        panel_refill_id: int,
        owner_id: int,
        account: str,
        *,
        first_poll_at: float | None = None,
        poll_interval: float | None = None,
        now: float | None = None,
    ) -> RefillRow:
        """Record a refill (due for tracking at first_poll_at, default now); the existing row
        if this account's refill id is already known."""
        ts = now_or(now)
        async with self._src.transaction() as tx:
            await tx.execute(
                "INSERT INTO refills (order_id, panel_refill_id, owner_id, account, final, "
                "next_poll_at, poll_interval, created_at, updated_at) "
                "VALUES (:order_id, :panel_id, :owner, :account, 0, :first_poll_at, :interval, "
                ":ts, :ts) ON CONFLICT (account, panel_refill_id) DO NOTHING",
                {
                    "order_id": order_id,
                    "panel_id": panel_refill_id,
                    "owner": owner_id,
                    "account": account,
                    "first_poll_at": ts if first_poll_at is None else first_poll_at,
                    "interval": poll_interval,
                    "ts": ts,
                },
            )
            row = await tx.fetchone(
                f"{self._select} WHERE account = :account AND panel_refill_id = :panel_id",
                {"account": account, "panel_id": panel_refill_id},
            )
        assert row is not None
        return self.row(row)

    async def get(self, refill_id: int) -> RefillRow | None:
        return await self._one("id = :id", {"id": refill_id})

    async def list_for_order(self, order_id: int) -> list[RefillRow]:
        return await self._many("order_id = :order_id ORDER BY id", {"order_id": order_id})

    async def due_for_tracking(self, now: float, limit: int | None = None) -> list[RefillRow]:
        return await self._many(
            "final = 0 AND next_poll_at <= :now ORDER BY next_poll_at, id LIMIT :limit",
            {"now": now, "limit": self._src.dialect.limit(limit)},
        )

    async def apply_status(
        self,
        refill_id: int,
        status: str | None,
        final: bool,
        next_poll_at: float | None,
        poll_interval: float | None,
        *,
        now: float | None = None,
    ) -> bool:
        """Store a `refill_status` answer; True if the status changed."""
        update = RefillStatusUpdate(refill_id, status, final, next_poll_at, poll_interval)
        return bool(await self.apply_statuses([update], now=now))

    async def apply_statuses(
        self,
        updates: Sequence[RefillStatusUpdate],
        *,
        now: float | None = None,
        open_only: bool = False,
    ) -> list[int]:
        """Store many answers in one transaction; return the ids whose status changed."""
        ts = now_or(now)
        answers = [
            (u.status, int(u.final), u.next_poll_at, u.poll_interval, ts, u.refill_id)
            for u in updates
        ]
        return await self._store_answers(answers, open_only=open_only)
