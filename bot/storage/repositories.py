"""Row types and repositories: the only place that writes SQL for the bot's data."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import aiosqlite

from bot.domain import Placement
from bot.storage.db import Database, Session
from bot.storage.secrets import SecretBox


class FailureKind(StrEnum):
    """Why an order was not placed."""

    REJECTED = "rejected"  # the panel refused it; `failure` is the panel's message
    UNREACHABLE = "unreachable"  # the request surely never reached the panel
    NOT_PLACED = "not_placed"  # its outcome was unknown, and an admin found no such order


@dataclass(frozen=True, slots=True)
class UserRow:
    telegram_id: int
    language: str | None
    blocked: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    intent_token: str
    owner_id: int
    account: str
    panel_order_id: int | None
    service_id: int
    service_name: str
    service_type: str
    rate: Decimal
    link: str | None
    quantity: int | None
    extra: dict[str, Any]
    price: Decimal | None  # None: the panel sets it (Subscriptions)
    currency: str | None
    placement: Placement
    failure: str | None
    failure_kind: FailureKind | None
    status: str | None
    remains: int | None
    start_count: int | None
    charge: Decimal | None
    notified_status: str | None
    refillable: bool
    cancelable: bool
    next_poll_at: float | None
    poll_interval: float | None
    final: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class RefillRow:
    id: int
    order_id: int
    panel_refill_id: int
    owner_id: int
    account: str
    status: str | None
    notified_status: str | None
    final: bool
    next_poll_at: float | None
    poll_interval: float | None
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """One order's answer from `status`, with when to ask again (None: never)."""

    local_id: int
    status: str | None
    remains: int | None
    start_count: int | None
    charge: Decimal | None
    currency: str | None
    final: bool
    next_poll_at: float | None
    poll_interval: float | None


@dataclass(frozen=True, slots=True)
class RefillStatusUpdate:
    refill_id: int
    status: str | None
    final: bool
    next_poll_at: float | None
    poll_interval: float | None


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _limit(limit: int | None) -> int:
    return -1 if limit is None else limit  # SQLite: a negative LIMIT means none


def _money(value: Decimal) -> str:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"money must be a finite Decimal, got {type(value).__name__}")
    return str(value)


def _money_or_none(value: Decimal | None) -> str | None:
    return None if value is None else _money(value)


def _ids_json(ids: Iterable[int]) -> str:
    # One JSON array parameter read with json_each(): any number of ids in one statement.
    return json.dumps([int(i) for i in ids])


def _user(row: aiosqlite.Row) -> UserRow:
    return UserRow(
        telegram_id=row["telegram_id"],
        language=row["language"],
        blocked=bool(row["blocked"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# Explicit columns in OrderRow's field order: _order() unpacks rows by position, which keeps
# converting 100,000 tracked orders cheap.
_ORDER_COLUMNS = (
    "id, intent_token, owner_id, account, panel_order_id, service_id, service_name, "
    "service_type, rate, link, quantity, extra_json, price, currency, placement, failure, "
    "failure_kind, status, remains, start_count, charge, notified_status, refillable, cancelable, "
    "next_poll_at, poll_interval, final, created_at, updated_at"
)
_SELECT_ORDERS = f"SELECT {_ORDER_COLUMNS} FROM orders"
_PLACEMENTS = {p.value: p for p in Placement}


def _order(row: aiosqlite.Row) -> OrderRow:
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
    ) = row
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
    )


def _refill(row: aiosqlite.Row) -> RefillRow:
    return RefillRow(
        id=row["id"],
        order_id=row["order_id"],
        panel_refill_id=row["panel_refill_id"],
        owner_id=row["owner_id"],
        account=row["account"],
        status=row["status"],
        notified_status=row["notified_status"],
        final=bool(row["final"]),
        next_poll_at=row["next_poll_at"],
        poll_interval=row["poll_interval"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _statuses(session: Session, table: str, ids: Sequence[int], where: str) -> dict[int, Any]:
    """Current `status` of the given rows of `table` (a constant of this module) by id."""
    rows = await session.fetchall(
        f"SELECT id, status FROM {table} WHERE id IN (SELECT value FROM json_each(?)) {where}",
        (_ids_json(ids),),
    )
    return {row["id"]: row["status"] for row in rows}


def _changed(before: dict[int, Any], after: Iterable[tuple[int, str | None]]) -> list[int]:
    """Ids present in `before` whose status differs from the new one."""
    return [row_id for row_id, status in after if row_id in before and before[row_id] != status]


class UserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, telegram_id: int) -> UserRow | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE telegram_id = ?", (telegram_id,))
        return None if row is None else _user(row)

    async def ensure(
        self, telegram_id: int, language: str | None, *, now: float | None = None
    ) -> UserRow:
        """The user's row, created with `language` if absent (an existing row is left as is)."""
        user = await self.get(telegram_id)
        if user is not None:
            return user
        ts = _now(now)
        await self._db.execute(
            "INSERT INTO users (telegram_id, language, blocked, created_at, updated_at) "
            "VALUES (?, ?, 0, ?, ?) ON CONFLICT (telegram_id) DO NOTHING",
            (telegram_id, language, ts, ts),
        )
        user = await self.get(telegram_id)
        assert user is not None  # users are never deleted concurrently
        return user

    async def set_language(
        self, telegram_id: int, language: str | None, *, now: float | None = None
    ) -> None:
        ts = _now(now)
        await self._db.execute(
            "INSERT INTO users (telegram_id, language, blocked, created_at, updated_at) "
            "VALUES (?, ?, 0, ?, ?) ON CONFLICT (telegram_id) "
            "DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at",
            (telegram_id, language, ts, ts),
        )

    async def set_blocked(
        self, telegram_id: int, blocked: bool, *, now: float | None = None
    ) -> None:
        ts = _now(now)
        await self._db.execute(
            "INSERT INTO users (telegram_id, language, blocked, created_at, updated_at) "
            "VALUES (?, NULL, ?, ?, ?) ON CONFLICT (telegram_id) "
            "DO UPDATE SET blocked = excluded.blocked, updated_at = excluded.updated_at",
            (telegram_id, int(blocked), ts, ts),
        )


class KeyRepository:
    """Users' own panel API keys, encrypted with the bot's secret key."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    async def set(self, telegram_id: int, key: str, *, now: float | None = None) -> None:
        ciphertext = self._box.encrypt(key)
        fingerprint = SecretBox.fingerprint(key)
        ts = _now(now)
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO users (telegram_id, language, blocked, created_at, updated_at) "
                "VALUES (?, NULL, 0, ?, ?) ON CONFLICT (telegram_id) DO NOTHING",
                (telegram_id, ts, ts),
            )
            await tx.execute(
                "INSERT INTO panel_keys (telegram_id, key_ciphertext, key_fingerprint, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (telegram_id) DO UPDATE SET "
                "key_ciphertext = excluded.key_ciphertext, "
                "key_fingerprint = excluded.key_fingerprint, created_at = excluded.created_at",
                (telegram_id, ciphertext, fingerprint, ts),
            )

    async def get(self, telegram_id: int) -> str | None:
        """The decrypted key; raises SecretDecryptError if the secret key changed."""
        row = await self._db.fetchone(
            "SELECT key_ciphertext FROM panel_keys WHERE telegram_id = ?", (telegram_id,)
        )
        return None if row is None else self._box.decrypt(row["key_ciphertext"])

    async def delete(self, telegram_id: int) -> bool:
        changed = await self._db.execute(
            "DELETE FROM panel_keys WHERE telegram_id = ?", (telegram_id,)
        )
        return changed > 0

    async def all_keys(self) -> dict[int, str]:
        rows = await self._db.fetchall("SELECT telegram_id, key_ciphertext FROM panel_keys")
        return {row["telegram_id"]: self._box.decrypt(row["key_ciphertext"]) for row in rows}


class OrderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

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
        ts = _now(now)
        # The UNIQUE constraint decides, in one statement: two concurrent Confirms of the
        # same intent cannot both insert.
        row = await self._db.fetchone(
            "INSERT INTO orders (intent_token, owner_id, account, service_id, service_name, "
            "service_type, rate, link, quantity, extra_json, price, currency, placement, "
            "refillable, cancelable, final, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, 0, ?, ?) "
            f"ON CONFLICT (intent_token) DO NOTHING RETURNING {_ORDER_COLUMNS}",
            (
                intent_token,
                owner_id,
                account,
                service_id,
                service_name,
                service_type,
                _money(rate),
                link,
                quantity,
                json.dumps(extra, ensure_ascii=False, sort_keys=True),
                _money_or_none(price),
                currency,
                int(refillable),
                int(cancelable),
                ts,
                ts,
            ),
        )
        return None if row is None else _order(row)

    async def get(self, local_id: int) -> OrderRow | None:
        row = await self._db.fetchone(_SELECT_ORDERS + " WHERE id = ?", (local_id,))
        return None if row is None else _order(row)

    async def get_by_intent(self, intent_token: str) -> OrderRow | None:
        row = await self._db.fetchone(_SELECT_ORDERS + " WHERE intent_token = ?", (intent_token,))
        return None if row is None else _order(row)

    async def get_by_panel_id(self, account: str, panel_order_id: int) -> OrderRow | None:
        row = await self._db.fetchone(
            _SELECT_ORDERS + " WHERE account = ? AND panel_order_id = ?",
            (account, panel_order_id),
        )
        return None if row is None else _order(row)

    async def find_for_owner(self, owner_id: int, panel_order_id: int) -> OrderRow | None:
        """The owner's order with this panel id (the newest, if placed on several accounts)."""
        row = await self._db.fetchone(
            _SELECT_ORDERS + " WHERE owner_id = ? AND panel_order_id = ? ORDER BY id DESC LIMIT 1",
            (owner_id, panel_order_id),
        )
        return None if row is None else _order(row)

    async def mark_placed(
        self,
        local_id: int,
        panel_order_id: int,
        *,
        first_poll_at: float,
        poll_interval: float,
        now: float | None = None,
    ) -> bool:
        """pending/unknown -> placed. Raises sqlite3.IntegrityError if the account already
        has an order with this panel id."""
        changed = await self._db.execute(
            "UPDATE orders SET placement = 'placed', panel_order_id = ?, failure = NULL, "
            "failure_kind = NULL, next_poll_at = ?, poll_interval = ?, updated_at = ? "
            "WHERE id = ? AND placement IN ('pending', 'unknown')",
            (panel_order_id, first_poll_at, poll_interval, _now(now), local_id),
        )
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
        changed = await self._db.execute(
            "UPDATE orders SET placement = ?, failure = ?, failure_kind = ?, final = ?, "
            "updated_at = ? WHERE id = ? AND placement = 'pending'",
            (placement.value, failure, kind, int(final), _now(now), local_id),
        )
        return changed > 0

    async def mark_not_placed(
        self, local_id: int, failure: str, *, now: float | None = None
    ) -> bool:
        """unknown -> failed, once an admin has checked that the panel has no such order."""
        changed = await self._db.execute(
            "UPDATE orders SET placement = 'failed', failure = ?, failure_kind = ?, final = 1, "
            "updated_at = ? WHERE id = ? AND placement = 'unknown'",
            (failure, FailureKind.NOT_PLACED, _now(now), local_id),
        )
        return changed > 0

    async def list_for_owner(self, owner_id: int, *, offset: int, limit: int) -> list[OrderRow]:
        rows = await self._db.fetchall(
            _SELECT_ORDERS + " WHERE owner_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (owner_id, limit, offset),
        )
        return [_order(row) for row in rows]

    async def count_for_owner(self, owner_id: int) -> int:
        row = await self._db.fetchone("SELECT count(*) FROM orders WHERE owner_id = ?", (owner_id,))
        assert row is not None
        return int(row[0])

    async def discard_intent(self, local_id: int) -> bool:
        """Forget an intent that never went to the panel."""
        return (
            await self._db.execute(
                "DELETE FROM orders WHERE id = ? AND placement = 'pending'", (local_id,)
            )
            > 0
        )

    async def list_pending(self, created_before: float) -> list[OrderRow]:
        """Intents still waiting for the panel's answer to `add`."""
        rows = await self._db.fetchall(
            _SELECT_ORDERS + " WHERE placement = 'pending' AND created_at < ? ORDER BY id",
            (created_before,),
        )
        return [_order(row) for row in rows]

    async def list_unknown(self) -> list[OrderRow]:
        rows = await self._db.fetchall(_SELECT_ORDERS + " WHERE placement = 'unknown' ORDER BY id")
        return [_order(row) for row in rows]

    async def due_for_tracking(self, now: float, limit: int | None = None) -> list[OrderRow]:
        """Placed, unfinished orders whose next poll is due, the longest-waiting first."""
        rows = await self._db.fetchall(
            _SELECT_ORDERS + " WHERE placement = 'placed' AND final = 0 AND next_poll_at <= ? "
            "ORDER BY next_poll_at, id LIMIT ?",
            (now, _limit(limit)),
        )
        return [_order(row) for row in rows]

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
        self, updates: Sequence[StatusUpdate], *, now: float | None = None
    ) -> list[int]:
        """Store many `status` answers in one transaction; return the ids whose status changed.

        Only placed orders are updated. A missing currency keeps the stored one (it belongs to
        the account, not to one answer).
        """
        if not updates:
            return []
        ts = _now(now)
        params = [
            (
                u.status,
                u.remains,
                u.start_count,
                _money_or_none(u.charge),
                u.currency,
                int(u.final),
                u.next_poll_at,
                u.poll_interval,
                ts,
                u.local_id,
            )
            for u in updates
        ]
        async with self._db.transaction() as tx:
            # The unary plus keeps SQLite from choosing the orders_tracking index over the
            # primary key here: with it, a 100-id lookup scans every placed order.
            before = await _statuses(
                tx, "orders", [u.local_id for u in updates], "AND +placement = 'placed'"
            )
            await tx.executemany(
                "UPDATE orders SET status = ?, remains = ?, start_count = ?, charge = ?, "
                "currency = coalesce(?, currency), final = ?, next_poll_at = ?, "
                "poll_interval = ?, updated_at = ? WHERE id = ? AND placement = 'placed'",
                params,
            )
        return _changed(before, [(u.local_id, u.status) for u in updates])

    async def reschedule(
        self, local_ids: Sequence[int], next_poll_at: float, poll_interval: float
    ) -> None:
        """Set the next poll of unfinished orders whose status did not change."""
        if not local_ids:
            return
        await self._db.execute(
            "UPDATE orders SET next_poll_at = ?, poll_interval = ? "
            "WHERE id IN (SELECT value FROM json_each(?)) AND final = 0",
            (next_poll_at, poll_interval, _ids_json(local_ids)),
        )

    async def pending_notifications(self, limit: int | None = None) -> list[OrderRow]:
        """Placed orders whose current status has not been sent to the owner yet."""
        rows = await self._db.fetchall(
            # Only placed orders ever get a status (apply_statuses), so no placement term:
            # the query then matches the partial index exactly.
            _SELECT_ORDERS + " WHERE status IS NOT NULL AND status IS NOT notified_status "
            "ORDER BY id LIMIT ?",
            (_limit(limit),),
        )
        return [_order(row) for row in rows]

    async def mark_notified(self, local_id: int, status: str) -> bool:
        """Record that `status` was sent; a no-op if the status has moved on meanwhile."""
        changed = await self._db.execute(
            "UPDATE orders SET notified_status = ? WHERE id = ? AND status = ?",
            (status, local_id, status),
        )
        return changed > 0

    async def due_for_polling(
        self, now: float, limit: int | None = None
    ) -> list[
        tuple[
            int, str, int, str | None, int | None, int | None, Decimal | None, float | None, float
        ]
    ]:
        """What a status poll needs of every order due by `now` (those due_for_tracking selects):
        (id, account, panel_order_id, status, remains, start_count, charge, poll_interval,
        next_poll_at), the soonest first. The tracker also reads the first few due a little
        later (a later `now`, a `limit`), to fill its requests with them.

        Plain tuples, not OrderRow: reading 100,000 due orders at once stays cheap.
        """
        rows = await self._db.fetchall(
            "SELECT id, account, panel_order_id, status, remains, start_count, charge, "
            "poll_interval, next_poll_at FROM orders "
            "WHERE placement = 'placed' AND final = 0 AND next_poll_at <= ? "
            "ORDER BY next_poll_at, id LIMIT ?",
            (now, _limit(limit)),
        )
        return [
            (
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                None if r[6] is None else Decimal(r[6]),
                r[7],
                r[8],
            )
            for r in rows
        ]


class RefillRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

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
        ts = _now(now)
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO refills (order_id, panel_refill_id, owner_id, account, final, "
                "next_poll_at, poll_interval, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?) "
                "ON CONFLICT (account, panel_refill_id) DO NOTHING",
                (
                    order_id,
                    panel_refill_id,
                    owner_id,
                    account,
                    ts if first_poll_at is None else first_poll_at,
                    poll_interval,
                    ts,
                    ts,
                ),
            )
            row = await tx.fetchone(
                "SELECT * FROM refills WHERE account = ? AND panel_refill_id = ?",
                (account, panel_refill_id),
            )
        assert row is not None
        return _refill(row)

    async def get(self, refill_id: int) -> RefillRow | None:
        row = await self._db.fetchone("SELECT * FROM refills WHERE id = ?", (refill_id,))
        return None if row is None else _refill(row)

    async def list_for_order(self, order_id: int) -> list[RefillRow]:
        rows = await self._db.fetchall(
            "SELECT * FROM refills WHERE order_id = ? ORDER BY id", (order_id,)
        )
        return [_refill(row) for row in rows]

    async def due_for_tracking(self, now: float, limit: int | None = None) -> list[RefillRow]:
        rows = await self._db.fetchall(
            "SELECT * FROM refills WHERE final = 0 AND next_poll_at <= ? "
            "ORDER BY next_poll_at, id LIMIT ?",
            (now, _limit(limit)),
        )
        return [_refill(row) for row in rows]

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
        self, updates: Sequence[RefillStatusUpdate], *, now: float | None = None
    ) -> list[int]:
        """Store many answers in one transaction; return the ids whose status changed."""
        if not updates:
            return []
        ts = _now(now)
        params = [
            (u.status, int(u.final), u.next_poll_at, u.poll_interval, ts, u.refill_id)
            for u in updates
        ]
        async with self._db.transaction() as tx:
            before = await _statuses(tx, "refills", [u.refill_id for u in updates], "")
            await tx.executemany(
                "UPDATE refills SET status = ?, final = ?, next_poll_at = ?, poll_interval = ?, "
                "updated_at = ? WHERE id = ?",
                params,
            )
        return _changed(before, [(u.refill_id, u.status) for u in updates])

    async def reschedule(
        self, refill_ids: Sequence[int], next_poll_at: float, poll_interval: float
    ) -> None:
        if not refill_ids:
            return
        await self._db.execute(
            "UPDATE refills SET next_poll_at = ?, poll_interval = ? "
            "WHERE id IN (SELECT value FROM json_each(?)) AND final = 0",
            (next_poll_at, poll_interval, _ids_json(refill_ids)),
        )

    async def pending_notifications(self, limit: int | None = None) -> list[RefillRow]:
        rows = await self._db.fetchall(
            "SELECT * FROM refills WHERE status IS NOT NULL AND status IS NOT notified_status "
            "ORDER BY id LIMIT ?",
            (_limit(limit),),
        )
        return [_refill(row) for row in rows]

    async def mark_notified(self, refill_id: int, status: str) -> bool:
        changed = await self._db.execute(
            "UPDATE refills SET notified_status = ? WHERE id = ? AND status = ?",
            (status, refill_id, status),
        )
        return changed > 0
