"""Orders: intents, placement outcomes, tracking, and who was told about unknown outcomes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from bot.storage.errors import DuplicatePanelOrder, IntegrityViolation
from bot.storage.rows import (
    Audience,
    DueOrder,
    FailureKind,
    OrderRow,
    Placement,
    StatusUpdate,
)
from bot.storage.tracked import TrackedRepository, money, money_or_none, now_or

_PLACEMENTS = {p.value: p for p in Placement}
_new_tuple = tuple.__new__
_TOLD_COLUMNS = {Audience.OWNER: "owner_told_at", Audience.ADMINS: "admins_told_at"}


class OrderRepository(TrackedRepository[OrderRow]):
    TABLE = "orders"
    # OrderRow's field order: row() unpacks by position, which keeps converting 100,000 tracked
    # orders cheap.
    COLUMNS = (
        "id, intent_token, owner_id, account, panel_order_id, service_id, service_name, "
        "service_type, rate, link, quantity, extra_json, price, currency, placement, failure, "
        "failure_kind, status, remains, start_count, charge, notified_status, refillable, "
        "cancelable, next_poll_at, poll_interval, final, created_at, updated_at, owner_told_at, "
        "admins_told_at"
    )
    # The currency only fills a gap: it is the one the price was shown in, and stays.
    UPDATE_SET = (
        "status = :status, remains = :remains, start_count = :start_count, charge = :charge, "
        "currency = coalesce(currency, :currency), final = :final, "
        "next_poll_at = :next_poll_at, poll_interval = :poll_interval"
    )
    ANSWER = (
        "status",
        "remains",
        "start_count",
        "charge",
        "currency",
        "final",
        "next_poll_at",
        "poll_interval",
    )
    # Only placed orders take answers. The unary plus (SQLite) keeps the planner on the primary
    # key: with orders_tracking, a 100-id lookup scans every placed order.
    UPDATABLE: ClassVar[str] = " AND {plain}placement = 'placed'"

    @staticmethod
    def row(values: Sequence[Any]) -> OrderRow:
        (
            id_,
            intent_token,
            owner_id,
            account,
            panel_order_id,
            service_id,
            service_name,
            service_type,
            rate,
            link,
            quantity,
            extra_json,
            price,
            currency,
            placement,
            failure,
            failure_kind,
            status,
            remains,
            start_count,
            charge,
            notified_status,
            refillable,
            cancelable,
            next_poll_at,
            poll_interval,
            final,
            created_at,
            updated_at,
            owner_told_at,
            admins_told_at,
        ) = values
        return OrderRow(
            id=id_,
            intent_token=intent_token,
            owner_id=owner_id,
            account=account,
            panel_order_id=panel_order_id,
            service_id=service_id,
            service_name=service_name,
            service_type=service_type,
            rate=Decimal(rate),
            link=link,
            quantity=quantity,
            extra={} if extra_json == "{}" else json.loads(extra_json),
            price=None if price is None else Decimal(price),
            currency=currency,
            placement=_PLACEMENTS[placement],
            failure=failure,
            failure_kind=None if failure_kind is None else FailureKind(failure_kind),
            status=status,
            remains=remains,
            start_count=start_count,
            charge=None if charge is None else Decimal(charge),
            notified_status=notified_status,
            refillable=bool(refillable),
            cancelable=bool(cancelable),
            next_poll_at=next_poll_at,
            poll_interval=poll_interval,
            final=bool(final),
            created_at=created_at,
            updated_at=updated_at,
            owner_told_at=owner_told_at,
            admins_told_at=admins_told_at,
        )

    async def create_intent(
        self,
        *,
        intent_token: str,
        owner_id: int,
        account: str,
        service_id: int,
        service_name: str,
        service_type: str,
        rate: Decimal,
        link: str | None,
        quantity: int | None,
        extra: dict[str, Any],
        price: Decimal | None,
        currency: str | None,
        refillable: bool,
        cancelable: bool,
        now: float | None = None,
    ) -> OrderRow | None:
        """Record the intent to place an order; None if this token was already recorded."""
        ts = now_or(now)
        # The UNIQUE constraint decides, in one statement: two concurrent Confirms of the
        # same intent cannot both insert.
        async with self._src.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO orders (intent_token, owner_id, account, service_id, service_name, "
                "service_type, rate, link, quantity, extra_json, price, currency, placement, "
                "refillable, cancelable, final, created_at, updated_at) "
                "VALUES (:intent_token, :owner_id, :account, :service_id, :service_name, "
                ":service_type, :rate, :link, :quantity, :extra_json, :price, :currency, "
                "'pending', :refillable, :cancelable, 0, :ts, :ts) "
                f"ON CONFLICT (intent_token) DO NOTHING RETURNING {self.COLUMNS}",
                {
                    "intent_token": intent_token,
                    "owner_id": owner_id,
                    "account": account,
                    "service_id": service_id,
                    "service_name": service_name,
                    "service_type": service_type,
                    "rate": money(rate),
                    "link": link,
                    "quantity": quantity,
                    "extra_json": json.dumps(extra, ensure_ascii=False, sort_keys=True),
                    "price": money_or_none(price),
                    "currency": currency,
                    "refillable": int(refillable),
                    "cancelable": int(cancelable),
                    "ts": ts,
                },
            )
        return None if row is None else self.row(row)

    async def get(self, local_id: int) -> OrderRow | None:
        return await self._one("id = :id", {"id": local_id})

    async def get_by_intent(self, intent_token: str) -> OrderRow | None:
        return await self._one("intent_token = :token", {"token": intent_token})

    async def get_by_panel_id(self, account: str, panel_order_id: int) -> OrderRow | None:
        return await self._one(
            "account = :account AND panel_order_id = :panel_id",
            {"account": account, "panel_id": panel_order_id},
        )

    async def find_for_owner(self, owner_id: int, panel_order_id: int) -> OrderRow | None:
        """The owner's order with this panel id (the newest, if placed on several accounts)."""
        return await self._one(
            "owner_id = :owner AND panel_order_id = :panel_id ORDER BY id DESC LIMIT 1",
            {"owner": owner_id, "panel_id": panel_order_id},
        )

    async def mark_placed(
        self,
        local_id: int,
        panel_order_id: int,
        *,
        first_poll_at: float,
        poll_interval: float,
        now: float | None = None,
    ) -> bool:
        """pending/unknown -> placed. Raises DuplicatePanelOrder if the account already has an
        order with this panel id."""
        try:
            async with self._src.transaction() as tx:
                changed = await tx.execute(
                    "UPDATE orders SET placement = 'placed', panel_order_id = :panel_id, "
                    "failure = NULL, failure_kind = NULL, next_poll_at = :first_poll_at, "
                    "poll_interval = :interval, updated_at = :ts "
                    "WHERE id = :id AND placement IN ('pending', 'unknown')",
                    {
                        "panel_id": panel_order_id,
                        "first_poll_at": first_poll_at,
                        "interval": poll_interval,
                        "ts": now_or(now),
                        "id": local_id,
                    },
                )
        except IntegrityViolation as exc:
            # The only constraint this statement can break is UNIQUE (account, panel_order_id).
            raise DuplicatePanelOrder(
                f"order {local_id}: the account already has panel order {panel_order_id}"
            ) from exc
        return changed > 0

    async def mark_failed(
        self,
        local_id: int,
        failure: str,
        kind: FailureKind = FailureKind.REJECTED,
        *,
        now: float | None = None,
    ) -> bool:
        """pending -> failed: the panel refused the order, or surely never got it."""
        return await self._from_pending(
            local_id, Placement.FAILED, failure, kind, final=True, now=now
        )

    async def mark_unknown(self, local_id: int, failure: str, *, now: float | None = None) -> bool:
        """pending -> unknown (the `add` answer was lost)."""
        return await self._from_pending(
            local_id, Placement.UNKNOWN, failure, None, final=False, now=now
        )

    async def _from_pending(
        self,
        local_id: int,
        placement: Placement,
        failure: str,
        kind: FailureKind | None,
        *,
        final: bool,
        now: float | None,
    ) -> bool:
        async with self._src.transaction() as tx:
            changed = await tx.execute(
                "UPDATE orders SET placement = :placement, failure = :failure, "
                "failure_kind = :kind, final = :final, updated_at = :ts "
                "WHERE id = :id AND placement = 'pending'",
                {
                    "placement": placement.value,
                    "failure": failure,
                    "kind": None if kind is None else kind.value,
                    "final": int(final),
                    "ts": now_or(now),
                    "id": local_id,
                },
            )
        return changed > 0

    async def mark_not_placed(
        self, local_id: int, failure: str, *, now: float | None = None
    ) -> bool:
        """unknown -> failed, once an admin has checked that the panel has no such order."""
        async with self._src.transaction() as tx:
            changed = await tx.execute(
                "UPDATE orders SET placement = 'failed', failure = :failure, failure_kind = :kind, "
                "final = 1, updated_at = :ts WHERE id = :id AND placement = 'unknown'",
                {
                    "failure": failure,
                    "kind": FailureKind.NOT_PLACED.value,
                    "ts": now_or(now),
                    "id": local_id,
                },
            )
        return changed > 0

    async def list_for_owner(self, owner_id: int, *, offset: int, limit: int) -> list[OrderRow]:
        return await self._many(
            "owner_id = :owner ORDER BY id DESC LIMIT :limit OFFSET :offset",
            {"owner": owner_id, "limit": limit, "offset": offset},
        )

    async def count_for_owner(self, owner_id: int) -> int:
        async with self._src.read() as tx:
            row = await tx.fetchone(
                "SELECT count(*) FROM orders WHERE owner_id = :owner", {"owner": owner_id}
            )
        assert row is not None
        return int(row[0])

    async def discard_intent(self, local_id: int) -> bool:
        """Forget an intent that never went to the panel."""
        async with self._src.transaction() as tx:
            changed = await tx.execute(
                "DELETE FROM orders WHERE id = :id AND placement = 'pending'", {"id": local_id}
            )
        return changed > 0

    async def list_pending(self, created_before: float) -> list[OrderRow]:
        """Intents still waiting for the panel's answer to `add`."""
        return await self._many(
            "placement = 'pending' AND created_at < :before ORDER BY id",
            {"before": created_before},
        )

    async def list_unknown(self) -> list[OrderRow]:
        return await self._many("placement = 'unknown' ORDER BY id", {})

    async def list_unknown_untold(self) -> list[OrderRow]:
        """Orders of unknown outcome that the owner or the admins have not been told about."""
        return await self._many(
            "placement = 'unknown' AND (owner_told_at IS NULL OR admins_told_at IS NULL) "
            "ORDER BY id",
            {},
        )

    async def mark_unknown_told(
        self, local_id: int, who: Audience, *, now: float | None = None
    ) -> bool:
        """Record that `who` was told the outcome is unknown. Compare-and-set: True for the one
        caller that recorded it first, False if already recorded or no longer unknown."""
        column = _TOLD_COLUMNS[who]
        async with self._src.transaction() as tx:
            changed = await tx.execute(
                f"UPDATE orders SET {column} = :ts "
                f"WHERE id = :id AND placement = 'unknown' AND {column} IS NULL",
                {"ts": now_or(now), "id": local_id},
            )
        return changed > 0

    async def due_for_tracking(self, now: float, limit: int | None = None) -> list[OrderRow]:
        """Placed, unfinished orders whose next poll is due, the longest-waiting first."""
        return await self._many(
            "placement = 'placed' AND final = 0 AND next_poll_at <= :now "
            "ORDER BY next_poll_at, id LIMIT :limit",
            {"now": now, "limit": self._src.dialect.limit(limit)},
        )

    async def apply_status(
        self,
        local_id: int,
        *,
        status: str | None,
        remains: int | None,
        start_count: int | None,
        charge: Decimal | None,
        currency: str | None,
        final: bool,
        next_poll_at: float | None,
        poll_interval: float | None,
        now: float | None = None,
    ) -> bool:
        """Store a `status` answer; True if the order's status changed."""
        update = StatusUpdate(
            local_id=local_id,
            status=status,
            remains=remains,
            start_count=start_count,
            charge=charge,
            currency=currency,
            final=final,
            next_poll_at=next_poll_at,
            poll_interval=poll_interval,
        )
        return bool(await self.apply_statuses([update], now=now))

    async def apply_statuses(
        self,
        updates: Sequence[StatusUpdate],
        *,
        now: float | None = None,
        open_only: bool = False,
    ) -> list[int]:
        """Store many `status` answers in one transaction; return the ids whose status changed.

        Only placed orders are updated (with `open_only`, unfinished ones: see _store_answers).
        The stored currency is never changed (see StatusUpdate).
        """
        ts = now_or(now)
        answers = [
            (
                u.status,
                u.remains,
                u.start_count,
                money_or_none(u.charge),
                u.currency,
                int(u.final),
                u.next_poll_at,
                u.poll_interval,
                ts,
                u.local_id,
            )
            for u in updates
        ]
        return await self._store_answers(answers, open_only=open_only)

    async def due_for_polling(self, now: float, limit: int | None = None) -> list[DueOrder]:
        """What a status poll needs of every order due by `now` (those due_for_tracking selects),
        the soonest first. The tracker also reads the first few due a little later (a later
        `now`, a `limit`), to fill its requests with them.

        Named tuples, not OrderRow, made in one pass over the rows: reading 100,000 due orders
        at once stays cheap.
        """
        async with self._src.read() as tx:
            rows = await tx.fetchall(
                "SELECT id, account, panel_order_id, status, remains, start_count, charge, "
                "poll_interval, next_poll_at FROM orders "
                "WHERE placement = 'placed' AND final = 0 AND next_poll_at <= :now "
                "ORDER BY next_poll_at, id LIMIT :limit",
                {"now": now, "limit": tx.dialect.limit(limit)},
            )
        # tuple.__new__ straight: DueOrder(...) goes through a Python-level __new__ per row.
        # The names are DueOrder's fields, in order (the charge, stored as text, made a Decimal).
        return [
            _new_tuple(
                DueOrder, (i, acc, pid, st, rem, sc, None if ch is None else Decimal(ch), iv, at)
            )
            for i, acc, pid, st, rem, sc, ch, iv, at in rows
        ]
