"""Requests filled with items due soon: orders placed over time share requests, none is late.

The tests drive the tracker as its loop does, with the clock jumping to the next item due, and
check after every cycle that each item due was asked and that no next poll is later than the
backoff schedule allows.
"""

import random
from dataclasses import dataclass

import pytest

from bot.storage import OrderRow, RefillRow
from tests.tracking.world import BASE, MAX, SHARED_KEY, World

NEVER = 1e18


@dataclass
class Request:
    at: float
    action: str
    asked: list[int]  # panel IDs, in the order asked


def grown(interval: float | None) -> float:
    """The longest next interval the schedule gives an item polled at `interval`."""
    return min(max(interval or BASE, BASE) * 2, MAX)


async def open_items(world: World) -> dict[tuple[str, int], OrderRow | RefillRow]:
    orders = await world.orders.due_for_tracking(NEVER)
    refills = await world.refills.due_for_tracking(NEVER)
    return {("status", o.panel_order_id or 0): o for o in orders} | {
        ("refill_status", r.panel_refill_id): r for r in refills
    }


async def drive(world: World, until: float, **options: float) -> list[Request]:
    """Cycles at each time an item is due, as the tracker's loop sleeps, until `until`."""
    tracker = world.tracker(**options)
    requests: list[Request] = []
    while True:
        before = await open_items(world)
        due = min((item.next_poll_at or NEVER for item in before.values()), default=NEVER)
        if due > until:
            return requests
        world.clock.now = max(world.clock.now, due)
        now = world.clock.now
        world.sim.reset_requests()

        await tracker.run_cycle()

        cycle = [
            Request(now, action, [int(i) for i in form[field].split(",")])
            for action, field in (("status", "orders"), ("refill_status", "refills"))
            for form in world.panel_requests(action)
        ]
        requests += cycle
        asked = {(r.action, i) for r in cycle for i in r.asked}
        after = await open_items(world)
        for key, item in before.items():
            assert item.next_poll_at is not None
            if item.next_poll_at <= now:
                assert key in asked, f"{key} due at {item.next_poll_at} not asked at {now}"
            if key in asked and key in after:
                later = after[key].next_poll_at
                assert later is not None and later <= now + grown(item.poll_interval)
            elif key in after:
                assert after[key].next_poll_at == item.next_poll_at


async def test_three_orders_placed_seconds_apart_are_asked_together(world: World) -> None:
    start = world.clock.now
    for _ in range(3):
        await world.place(first_poll_in=BASE)  # as the bot does: first asked a base later
        world.clock.advance(2)

    requests = await drive(world, until=start + 5 * MAX)

    assert len(requests) >= 5
    assert [len(r.asked) for r in requests] == [3] * len(requests)


async def test_a_hundred_orders_placed_over_nine_seconds_take_a_handful_of_requests(
    world: World,
) -> None:
    start = world.clock.now
    for _ in range(100):
        await world.place(first_poll_in=BASE)
        world.clock.advance(0.09)

    requests = await drive(world, until=start + 5 * MAX)

    # Asked alone, each order would be asked at 9 or more distinct times: hundreds of requests.
    sizes = [len(r.asked) for r in requests]
    assert 5 <= len(requests) <= 12, [(r.at, len(r.asked)) for r in requests]
    assert sum(sizes) / len(sizes) >= 80, sizes


async def test_refills_created_seconds_apart_are_asked_together(world: World) -> None:
    orders = await world.place(count=3, first_poll_in=NEVER / 2)  # only the refills are tracked
    start = world.clock.now
    for order in orders:
        world.sim.set_order(order.panel_order_id, status="Completed", remains=0)
        panel_refill = await world.client.refill(SHARED_KEY, order.panel_order_id)
        await world.refills.create(
            order.id,
            panel_refill,
            order.owner_id,
            order.account,
            first_poll_at=world.clock.now + BASE,
        )
        world.clock.advance(2)

    requests = await drive(world, until=start + 5 * MAX)

    assert len(requests) >= 5
    assert {r.action for r in requests} == {"refill_status"}
    assert [len(r.asked) for r in requests] == [3] * len(requests)


async def test_orders_placed_and_changing_at_random_are_never_asked_late(world: World) -> None:
    """`drive` checks every cycle; news on the panel resets an order's interval meanwhile."""
    rng = random.Random(11)
    start = world.clock.now
    placed: list[OrderRow] = []
    for _ in range(40):
        placed += await world.place(first_poll_in=BASE)
        world.clock.advance(rng.uniform(0, 3 * BASE))
    requests = await drive(world, until=world.clock.now)
    for order in rng.sample(placed, 10):
        world.sim.set_order(order.panel_order_id, status="In progress", remains=rng.randint(1, 99))
    for order in rng.sample(placed, 10):
        world.sim.set_order(order.panel_order_id, status="Completed", remains=0)

    requests += await drive(world, until=world.clock.now + 4 * MAX)

    assert requests and all(len(r.asked) <= 100 for r in requests)
    assert world.clock.now > start + 4 * MAX


async def test_only_the_last_requests_room_is_filled_up_to_100(world: World) -> None:
    await world.place(count=150)  # due now
    soon = await world.place(count=60, first_poll_in=BASE / 4)  # within half their interval
    world.sim.reset_requests()

    await world.tracker().run_cycle()

    sizes = [len(form["orders"].split(",")) for form in world.panel_requests("status")]
    assert sizes == [100, 100]
    asked = {int(i) for form in world.panel_requests("status") for i in form["orders"].split(",")}
    # The soonest 50 of them filled the room; the others wait for their own time.
    assert [o.panel_order_id in asked for o in soon] == [True] * 50 + [False] * 10


@pytest.mark.parametrize("early", [-0.1, 1.1])
async def test_early_is_checked(world: World, early: float) -> None:
    with pytest.raises(ValueError):
        world.tracker(early=early)
