from decimal import Decimal

import pytest

from bot.storage import IntegrityViolation, OrderRepository, RefillRepository, RefillStatusUpdate


async def _order_id(orders: OrderRepository, token: str = "t") -> int:
    row = await orders.create_intent(
        intent_token=token,
        owner_id=10,
        account="shared",
        service_id=1,
        service_name="s",
        service_type="Default",
        rate=Decimal(1),
        link="l",
        quantity=100,
        extra={},
        price=Decimal("0.1"),
        currency="USD",
        refillable=True,
        cancelable=False,
    )
    assert row is not None
    assert await orders.mark_placed(row.id, 500, first_poll_at=0.0, poll_interval=1.0)
    return row.id


async def test_create_is_idempotent(orders: OrderRepository, refills: RefillRepository) -> None:
    order_id = await _order_id(orders)
    first = await refills.create(order_id, 77, 10, "shared", now=100.0)
    assert (first.order_id, first.panel_refill_id, first.owner_id, first.account) == (
        order_id,
        77,
        10,
        "shared",
    )
    assert first.status is None and not first.final
    assert first.next_poll_at == 100.0  # due at once unless told otherwise
    again = await refills.create(order_id, 77, 10, "shared", now=200.0)
    assert again == first
    other_account = await refills.create(order_id, 77, 10, "abcdef0123456789")
    assert other_account.id != first.id
    assert [r.id for r in await refills.list_for_order(order_id)] == [first.id, other_account.id]
    assert await refills.list_for_order(order_id + 1) == []
    assert await refills.get(first.id) == first


async def test_refill_needs_an_existing_order(refills: RefillRepository) -> None:
    with pytest.raises(IntegrityViolation, match=r"(?i)foreign key"):
        await refills.create(12345, 1, 10, "shared")


async def test_tracking_and_status(orders: OrderRepository, refills: RefillRepository) -> None:
    order_id = await _order_id(orders)
    a = await refills.create(order_id, 1, 10, "shared", first_poll_at=50.0, poll_interval=5.0)
    b = await refills.create(order_id, 2, 10, "shared", first_poll_at=40.0, poll_interval=5.0)
    c = await refills.create(order_id, 3, 10, "shared", first_poll_at=900.0)
    assert [r.id for r in await refills.due_for_tracking(100.0)] == [b.id, a.id]
    assert [r.id for r in await refills.due_for_tracking(100.0, limit=1)] == [b.id]

    assert await refills.apply_status(a.id, "Pending", False, 200.0, 10.0, now=60.0)
    assert not await refills.apply_status(a.id, "Pending", False, 210.0, 10.0)
    assert await refills.apply_status(b.id, "Completed", True, None, None)
    stored = await refills.get(a.id)
    assert stored is not None
    assert (stored.status, stored.next_poll_at, stored.poll_interval) == ("Pending", 210.0, 10.0)
    assert await refills.due_for_tracking(100.0) == []
    assert [r.id for r in await refills.due_for_tracking(1000.0)] == [a.id, c.id]

    changed = await refills.apply_statuses(
        [
            RefillStatusUpdate(a.id, "In progress", False, 300.0, 10.0),
            RefillStatusUpdate(c.id, None, False, 950.0, 10.0),
            RefillStatusUpdate(9999, "Completed", True, None, None),
        ]
    )
    assert changed == [a.id]
    await refills.reschedule([a.id, b.id, c.id], 5000.0, 60.0)
    assert [r.id for r in await refills.due_for_tracking(5000.0)] == [a.id, c.id]


async def test_notifications(orders: OrderRepository, refills: RefillRepository) -> None:
    order_id = await _order_id(orders)
    a = await refills.create(order_id, 1, 10, "shared")
    b = await refills.create(order_id, 2, 10, "shared")
    assert await refills.pending_notifications() == []
    await refills.apply_status(a.id, "Pending", False, 1.0, 1.0)
    await refills.apply_status(b.id, "Rejected", True, None, None)
    assert [r.id for r in await refills.pending_notifications()] == [a.id, b.id]
    await refills.apply_status(a.id, "Completed", True, None, None)
    assert not await refills.mark_notified(a.id, "Pending")  # moved on meanwhile
    assert await refills.mark_notified(a.id, "Completed")
    assert [r.id for r in await refills.pending_notifications()] == [b.id]
    assert await refills.mark_notified(b.id, "Rejected")
    assert await refills.pending_notifications() == []
