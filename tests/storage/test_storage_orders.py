import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.storage import (
    Audience,
    Database,
    DuplicatePanelOrder,
    FailureKind,
    OrderRepository,
    OrderRow,
    Placement,
    StatusUpdate,
)
from tests.storage.sql import rows


async def _intent(orders: OrderRepository, token: str, **overrides: Any) -> OrderRow:
    fields: dict[str, Any] = {
        "intent_token": token,
        "owner_id": 10,
        "account": "shared",
        "service_id": 5,
        "service_name": "Followers 🚀",
        "service_type": "Default",
        "rate": Decimal("0.90"),
        "link": "https://example.com/p",
        "quantity": 1000,
        "extra": {"runs": 2, "comments": "a\nb"},
        "price": Decimal("0.096"),
        "currency": "USD",
        "refillable": True,
        "cancelable": False,
        "now": 100.0,
    }
    fields.update(overrides)
    row = await orders.create_intent(**fields)
    assert row is not None
    return row


async def _placed(orders: OrderRepository, token: str, panel_id: int, **overrides: Any) -> OrderRow:
    row = await _intent(orders, token, **overrides)
    assert await orders.mark_placed(row.id, panel_id, first_poll_at=200.0, poll_interval=30.0)
    placed = await orders.get(row.id)
    assert placed is not None
    return placed


def _update(local_id: int, status: str | None = "In progress", **overrides: Any) -> StatusUpdate:
    fields: dict[str, Any] = {
        "local_id": local_id,
        "status": status,
        "remains": 10,
        "start_count": 3572,
        "charge": Decimal("0.27819"),
        "currency": None,
        "final": False,
        "next_poll_at": 500.0,
        "poll_interval": 60.0,
    }
    fields.update(overrides)
    return StatusUpdate(**fields)


async def test_create_intent_round_trips_every_field(orders: OrderRepository) -> None:
    row = await _intent(orders, "t1")
    assert row.placement is Placement.PENDING
    assert (row.rate, row.price) == (Decimal("0.90"), Decimal("0.096"))
    assert row.extra == {"runs": 2, "comments": "a\nb"}
    assert row.service_name == "Followers 🚀"
    assert (row.refillable, row.cancelable, row.final) == (True, False, False)
    assert row.panel_order_id is None and row.status is None and row.charge is None
    assert (row.created_at, row.updated_at) == (100.0, 100.0)
    assert await orders.get(row.id) == row
    assert await orders.get_by_intent("t1") == row
    assert await orders.get_by_intent("missing") is None


async def test_second_confirm_of_same_intent_is_a_no_op(orders: OrderRepository) -> None:
    first = await _intent(orders, "t1")
    assert await orders.create_intent(**_fields_for("t1")) is None
    assert await orders.count_for_owner(10) == 1
    assert await orders.get_by_intent("t1") == first


def _fields_for(token: str) -> dict[str, Any]:
    return {
        "intent_token": token,
        "owner_id": 10,
        "account": "shared",
        "service_id": 5,
        "service_name": "x",
        "service_type": "Default",
        "rate": Decimal(1),
        "link": None,
        "quantity": None,
        "extra": {},
        "price": Decimal(1),
        "currency": None,
        "refillable": False,
        "cancelable": False,
    }


async def test_concurrent_confirms_insert_exactly_one(orders: OrderRepository) -> None:
    results = await asyncio.gather(*(orders.create_intent(**_fields_for("t")) for _ in range(20)))
    assert sum(r is not None for r in results) == 1
    assert await orders.count_for_owner(10) == 1


async def test_concurrent_confirms_from_two_connections(database_url: str) -> None:
    # Two processes on one database: the unique constraint decides, not the in-process lock.
    async with await Database.open(database_url) as a, await Database.open(database_url) as b:
        repos = [OrderRepository(a), OrderRepository(b)]
        results = await asyncio.gather(
            *(repos[i % 2].create_intent(**_fields_for("t")) for i in range(20))
        )
        assert sum(r is not None for r in results) == 1
        assert await repos[0].count_for_owner(10) == 1


async def test_money_must_be_decimal(orders: OrderRepository) -> None:
    with pytest.raises(TypeError, match="Decimal"):
        await orders.create_intent(**{**_fields_for("t"), "price": 0.1})
    with pytest.raises(TypeError, match="Decimal"):
        await orders.create_intent(**{**_fields_for("t"), "rate": Decimal("NaN")})
    with pytest.raises(TypeError):
        await orders.create_intent(**{**_fields_for("t"), "extra": {"x": object()}})
    assert await orders.count_for_owner(10) == 0


async def test_mark_placed_from_pending(orders: OrderRepository) -> None:
    row = await _intent(orders, "t1")
    assert await orders.mark_placed(
        row.id, 23501, first_poll_at=200.0, poll_interval=30.0, now=150.0
    )
    placed = await orders.get(row.id)
    assert placed is not None
    assert placed.placement is Placement.PLACED and placed.panel_order_id == 23501
    assert (placed.next_poll_at, placed.poll_interval, placed.updated_at) == (200.0, 30.0, 150.0)
    assert await orders.get_by_panel_id("shared", 23501) == placed
    assert await orders.get_by_panel_id("other", 23501) is None
    # Placed is terminal for these transitions.
    assert not await orders.mark_placed(row.id, 1, first_poll_at=0.0, poll_interval=1.0)
    assert not await orders.mark_failed(row.id, "x")
    assert not await orders.mark_unknown(row.id, "x")
    after = await orders.get(row.id)
    assert after is not None and after.panel_order_id == 23501


async def test_mark_failed_only_from_pending(orders: OrderRepository) -> None:
    row = await _intent(orders, "t1")
    assert await orders.mark_failed(row.id, "Not enough funds on balance")
    failed = await orders.get(row.id)
    assert failed is not None
    assert failed.placement is Placement.FAILED and failed.final
    assert failed.failure == "Not enough funds on balance"
    assert failed.failure_kind is FailureKind.REJECTED
    assert not await orders.mark_unknown(row.id, "x")
    assert not await orders.mark_placed(row.id, 1, first_poll_at=0.0, poll_interval=1.0)


async def test_why_an_order_failed_is_kept(orders: OrderRepository) -> None:
    unreachable = await _intent(orders, "t1")
    assert await orders.mark_failed(unreachable.id, "add: cannot connect", FailureKind.UNREACHABLE)
    checked = await _intent(orders, "t2")
    assert not await orders.mark_not_placed(checked.id, "x")  # only an unknown outcome
    assert await orders.mark_unknown(checked.id, "timeout")
    assert await orders.mark_not_placed(checked.id, "checked by 900")
    kinds = [(await orders.get(row.id)).failure_kind for row in (unreachable, checked)]  # type: ignore[union-attr]
    assert kinds == [FailureKind.UNREACHABLE, FailureKind.NOT_PLACED]


async def test_unknown_can_only_be_resolved_to_placed(orders: OrderRepository) -> None:
    row = await _intent(orders, "t1")
    other = await _intent(orders, "t2")
    assert await orders.mark_unknown(row.id, "timeout")
    assert not await orders.mark_failed(row.id, "x")
    assert not await orders.mark_unknown(row.id, "x")
    assert [o.id for o in await orders.list_unknown()] == [row.id]
    assert await orders.mark_placed(row.id, 7, first_poll_at=1.0, poll_interval=1.0)
    resolved = await orders.get(row.id)
    assert resolved is not None
    assert resolved.placement is Placement.PLACED and resolved.failure is None
    assert await orders.list_unknown() == []
    assert await orders.mark_unknown(other.id, "timeout")


async def test_panel_id_is_unique_per_account(orders: OrderRepository) -> None:
    await _placed(orders, "t1", 7)
    await _placed(orders, "t2", 7, account="abcdef0123456789")
    third = await _intent(orders, "t3")
    with pytest.raises(DuplicatePanelOrder):
        await orders.mark_placed(third.id, 7, first_poll_at=1.0, poll_interval=1.0)
    still = await orders.get(third.id)
    assert still is not None and still.placement is Placement.PENDING


async def test_find_for_owner(orders: OrderRepository) -> None:
    older = await _placed(orders, "t1", 7)
    newer = await _placed(orders, "t2", 7, account="abcdef0123456789")
    await _placed(orders, "t3", 8, owner_id=99)
    assert await orders.find_for_owner(10, 7) == newer
    assert older.id < newer.id
    assert await orders.find_for_owner(10, 8) is None
    assert await orders.find_for_owner(99, 7) is None


async def test_paging_newest_first(orders: OrderRepository) -> None:
    ids = [(await _intent(orders, f"t{i}")).id for i in range(7)]
    await _intent(orders, "someone else", owner_id=11)
    assert await orders.count_for_owner(10) == 7
    assert await orders.count_for_owner(12) == 0
    pages = [
        [o.id for o in await orders.list_for_owner(10, offset=offset, limit=3)]
        for offset in (0, 3, 6, 9)
    ]
    assert pages == [ids[6:3:-1], ids[3:0:-1], ids[:1], []]


async def test_due_for_tracking(orders: OrderRepository) -> None:
    late = await _placed(orders, "a", 1)
    early = await _placed(orders, "b", 2)
    future = await _placed(orders, "c", 3)
    done = await _placed(orders, "d", 4)
    await _intent(orders, "pending")
    await orders.reschedule([late.id], 150.0, 30.0)
    await orders.reschedule([early.id], 120.0, 30.0)
    await orders.reschedule([future.id], 1000.0, 30.0)
    await orders.apply_status(
        done.id,
        status="Completed",
        remains=0,
        start_count=1,
        charge=Decimal("1"),
        currency="USD",
        final=True,
        next_poll_at=None,
        poll_interval=None,
    )
    assert [o.id for o in await orders.due_for_tracking(200.0)] == [early.id, late.id]
    assert [o.id for o in await orders.due_for_tracking(200.0, limit=1)] == [early.id]
    assert await orders.due_for_tracking(100.0) == []
    # A final order is never rescheduled back into tracking.
    await orders.reschedule([done.id], 0.0, 1.0)
    assert done.id not in [o.id for o in await orders.due_for_tracking(2000.0)]


async def test_apply_status_reports_changes(orders: OrderRepository) -> None:
    row = await _placed(orders, "a", 1)
    assert await orders.apply_status(row.id, **_kw(_update(row.id, currency="USD")), now=300.0)
    stored = await orders.get(row.id)
    assert stored is not None
    assert (stored.status, stored.remains, stored.start_count) == ("In progress", 10, 3572)
    assert stored.charge == Decimal("0.27819") and stored.currency == "USD"
    assert (stored.next_poll_at, stored.poll_interval, stored.updated_at) == (500.0, 60.0, 300.0)
    # Same status: stored, not reported; a missing currency keeps the known one.
    assert not await orders.apply_status(row.id, **_kw(_update(row.id, remains=5)))
    stored = await orders.get(row.id)
    assert stored is not None and stored.remains == 5 and stored.currency == "USD"
    unknown_fields = _update(row.id, "Partial", remains=None, start_count=None, charge=None)
    assert await orders.apply_status(row.id, **_kw(unknown_fields))
    stored = await orders.get(row.id)
    assert stored is not None
    assert (stored.remains, stored.start_count, stored.charge) == (None, None, None)


def _kw(update: StatusUpdate) -> dict[str, Any]:
    return {
        "status": update.status,
        "remains": update.remains,
        "start_count": update.start_count,
        "charge": update.charge,
        "currency": update.currency,
        "final": update.final,
        "next_poll_at": update.next_poll_at,
        "poll_interval": update.poll_interval,
    }


async def test_apply_status_ignores_orders_not_placed(orders: OrderRepository) -> None:
    row = await _intent(orders, "a")
    assert not await orders.apply_status(row.id, **_kw(_update(row.id)))
    assert await orders.apply_statuses([_update(row.id), _update(9999)]) == []
    stored = await orders.get(row.id)
    assert stored is not None and stored.status is None


async def test_apply_statuses_bulk(orders: OrderRepository) -> None:
    a = await _placed(orders, "a", 1)
    b = await _placed(orders, "b", 2)
    c = await _placed(orders, "c", 3)
    await orders.apply_statuses([_update(a.id), _update(b.id)])
    changed = await orders.apply_statuses(
        [_update(a.id), _update(b.id, "Completed", final=True), _update(c.id, "Pending")]
    )
    assert changed == [b.id, c.id]
    stored = await orders.get(b.id)
    assert stored is not None and stored.final and stored.status == "Completed"
    assert await orders.apply_statuses([]) == []


async def test_pending_notifications_and_compare_and_set(orders: OrderRepository) -> None:
    a = await _placed(orders, "a", 1)
    b = await _placed(orders, "b", 2)
    await _placed(orders, "c", 3)  # never got a status: nothing to say
    await orders.apply_statuses([_update(a.id, "In progress"), _update(b.id, "Pending")])
    assert [o.id for o in await orders.pending_notifications()] == [a.id, b.id]
    assert [o.id for o in await orders.pending_notifications(limit=1)] == [a.id]

    sent = (await orders.pending_notifications())[0]
    # The status moves on while the message is being sent.
    await orders.apply_status(a.id, **_kw(_update(a.id, "Completed", final=True)))
    assert not await orders.mark_notified(sent.id, "In progress")
    assert [o.status for o in await orders.pending_notifications()] == ["Completed", "Pending"]
    assert await orders.mark_notified(a.id, "Completed")
    assert await orders.mark_notified(b.id, "Pending")
    assert await orders.pending_notifications() == []
    stored = await orders.get(a.id)
    assert stored is not None and stored.notified_status == "Completed"


async def _plan_of(db: Database, call: Callable[[], Awaitable[object]]) -> str:
    """The query plan of the one SELECT a repository call runs (SQLite)."""
    traced: list[str] = []
    pooled = await db.engine.raw_connection()
    conn = pooled.driver_connection
    await conn.set_trace_callback(traced.append)
    pooled.close()
    await call()
    await conn.set_trace_callback(None)
    (sql,) = [s for s in traced if s.lstrip().upper().startswith("SELECT")]
    plan = await rows(db, "EXPLAIN QUERY PLAN " + sql)
    return " ".join(str(row[-1]) for row in plan)


async def test_tracking_queries_use_indexes(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        orders = OrderRepository(db)
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "orders_tracking": lambda: orders.due_for_tracking(1.0, limit=10),
            "orders_unnotified": lambda: orders.pending_notifications(limit=10),
            "orders_by_owner": lambda: orders.list_for_owner(1, offset=0, limit=10),
        }
        for index, call in calls.items():
            plan = await _plan_of(db, call)
            assert f"USING INDEX {index}" in plan, plan
            assert "TEMP B-TREE" not in plan, plan


async def test_one_hundred_thousand_orders_in_one_cycle(db: Database) -> None:
    # SQLite binds ids as one JSON array, PostgreSQL as one array: no limit on their number.
    # PostgreSQL proves it with fewer: the suite's time is shared.
    count = 20_000 if db.dialect.postgres else 100_000
    insert = db.dialect.by_position(
        "INSERT INTO orders (intent_token, owner_id, account, panel_order_id, service_id, "
        "service_name, service_type, rate, extra_json, price, placement, refillable, "
        "cancelable, next_poll_at, poll_interval, created_at, updated_at) VALUES "
        "(:token, :owner, 'shared', :panel_id, 1, 's', 'Default', '1', '{}', '1', 'placed', "
        "0, 0, :next_poll_at, 30, 0, 0)",
        ("token", "owner", "panel_id", "next_poll_at"),
    )
    async with db.transaction() as tx:
        await tx.executemany(
            insert, [(f"t{i}", i % 1000, i, count - i) for i in range(1, count + 1)]
        )
    orders = OrderRepository(db)
    due = await orders.due_for_tracking(float(count))
    assert len(due) == count
    assert [o.next_poll_at for o in due[:3]] == [0.0, 1.0, 2.0]

    changed = await orders.apply_statuses(
        [_update(o.id, "Completed" if o.id % 2 else "In progress") for o in due]
    )
    assert len(changed) == count
    await orders.reschedule([o.id for o in due], 10.0**9, 60.0)
    assert await orders.due_for_tracking(float(count)) == []
    assert len(await orders.pending_notifications(limit=500)) == 500


async def test_a_status_answer_never_changes_the_currency_the_price_was_shown_in(
    orders: OrderRepository,
) -> None:
    row = await _placed(orders, "a", 1, currency="EUR")
    await orders.apply_statuses([_update(row.id, currency="USD")])
    assert await orders.apply_status(row.id, **_kw(_update(row.id, "Completed", currency="RUB")))
    stored = await orders.get(row.id)
    assert stored is not None and stored.currency == "EUR"
    # An order placed without a known currency takes the first one an answer names, and keeps it.
    bare = await _placed(orders, "b", 2, currency=None, price=None)
    await orders.apply_statuses([_update(bare.id, currency="USD")])
    await orders.apply_statuses([_update(bare.id, "Completed", currency="RUB")])
    stored = await orders.get(bare.id)
    assert stored is not None and stored.currency == "USD"


async def test_unknown_orders_are_told_to_each_audience_once(orders: OrderRepository) -> None:
    first = await _intent(orders, "a")
    second = await _intent(orders, "b")
    placed = await _placed(orders, "c", 3)
    assert await orders.list_unknown_untold() == []
    assert await orders.mark_unknown(first.id, "timeout")
    assert await orders.mark_unknown(second.id, "timeout")
    assert [o.id for o in await orders.list_unknown_untold()] == [first.id, second.id]

    # Two tellers racing: exactly one records it (and so exactly one sends).
    results = await asyncio.gather(
        *(orders.mark_unknown_told(first.id, Audience.OWNER, now=5.0) for _ in range(5))
    )
    assert sorted(results) == [False, False, False, False, True]
    assert [o.id for o in await orders.list_unknown_untold()] == [first.id, second.id]
    assert await orders.mark_unknown_told(first.id, Audience.ADMINS, now=6.0)
    told = await orders.get(first.id)
    assert told is not None and (told.owner_told_at, told.admins_told_at) == (5.0, 6.0)
    assert [o.id for o in await orders.list_unknown_untold()] == [second.id]

    # Only orders whose outcome is unknown are told about.
    assert not await orders.mark_unknown_told(placed.id, Audience.OWNER)
    assert await orders.mark_unknown_told(second.id, Audience.ADMINS)
    assert await orders.mark_placed(second.id, 77, first_poll_at=1.0, poll_interval=1.0)
    assert await orders.list_unknown_untold() == []
    assert not await orders.mark_unknown_told(second.id, Audience.OWNER)
