"""A simulated day of tracking: orders arriving at random, each open for a random time.

Run by hand: ``python -m bench.tracking_day_bench`` (a few minutes with the defaults: three
volumes, each with the filling before this change and after it, in one run).
The real tracker, client and SQLite database against the panel simulator over HTTP on
127.0.0.1, with an injected clock: the bench jumps it from event to event (an order placed, an
order's status changing on the panel, the tracker's next item due), as the tracker's own loop
sleeps until the next item is due.

Each order is Pending for a few minutes, then In progress, then Completed after a random time.
The floor is what the backoff schedule asks for: every order polled on its own schedule (first
a base interval after placing, the interval growing while nothing changes, back to the base on
news), over the day, divided by 100 (the protocol's batch). Goals: requests at most 1.2 x the
floor, at least 80 orders per request whenever 100 or more are open, and no order left due
after a cycle (none asked later than its schedule says).

The bound is the fewest requests any never-late policy can make: at least the floor, and at
least the fewest instants that meet every order's first deadline (each new order must be asked
between its placing and a base interval later; those windows, stabbed greedily at their ends).
At low volumes the second is far above the floor, so 1.2 x the floor cannot be reached there;
the ratio to the bound says how far a policy is from the best possible.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import random
import tempfile
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.tracking_bench import BASE_INTERVAL, MAX_INTERVAL, shared_key_tracker
from bot.panel.client import BATCH_SIZE, PanelClient
from bot.panel.models import NewOrder
from bot.sandbox.simulator import PanelSimulator
from bot.services.accounts import SHARED_LABEL
from bot.storage import Database, OrderRepository

KEY = "bench-day-key-0123456789"
DAY = 86_400.0
START = 1_000_000.0


@dataclass
class Life:
    """One order's life on the panel."""

    placed: float
    started: float  # Pending -> In progress
    completed: float  # -> Completed

    def status_at(self, t: float) -> str:
        if t >= self.completed:
            return "Completed"
        return "In progress" if t >= self.started else "Pending"


def scheduled_polls(life: Life) -> int:
    """Polls the backoff schedule asks for this order alone (the tracker's own rule)."""
    t, interval, seen, polls = life.placed + BASE_INTERVAL, BASE_INTERVAL, None, 0
    while True:
        polls += 1
        status = life.status_at(t)
        if status == "Completed":
            return polls
        if status != seen:
            interval = BASE_INTERVAL
        else:
            interval = min(max(interval, BASE_INTERVAL) * 2, MAX_INTERVAL)
        seen = status
        t += interval


def first_deadline_instants(day: list[Life]) -> int:
    """The fewest request times that ask every order within a base interval of its placing:
    each window [placed, placed + base] must hold one (greedy stabbing is optimal)."""
    instants, covered_until = 0, float("-inf")
    for life in day:  # sorted by placing
        if life.placed > covered_until:
            instants += 1
            covered_until = life.placed + BASE_INTERVAL
    return instants


def lives(count: int, rng: random.Random) -> list[Life]:
    result = []
    for _ in range(count):
        placed = START + rng.uniform(0, DAY)
        started = placed + rng.uniform(30, 900)
        result.append(Life(placed, started, started + rng.expovariate(1 / (3 * 3600))))
    return sorted(result, key=lambda life: life.placed)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Figures:
    orders: int
    floor: float
    bound: float  # the fewest requests a never-late policy can make (see the docstring)
    requests: int
    asked: int
    full_requests: int  # requests made while 100 or more orders were open
    full_asked: int
    left_due: int  # items still due after a cycle: asked later than their schedule
    wall: float


async def run_day(count: int, seed: int, early: float, db_path: Path) -> Figures:
    rng = random.Random(seed)
    day = lives(count, rng)
    sim = PanelSimulator(keys={KEY: Decimal(10**9)})
    await sim.start()
    db = await Database.open(db_path)
    client = PanelClient(sim.url, timeout=30)
    clock = Clock()
    orders = OrderRepository(db)
    tracker = shared_key_tracker(db, client, KEY, clock, early=early)
    # Panel events: (time, sequence, panel ID, status), the status changing on the panel.
    events: list[tuple[float, int, int, str]] = []
    arrivals = iter(day)
    next_arrival: Life | None = next(arrivals, None)
    open_orders = 0  # placed and not completed on the panel
    floor = sum(map(scheduled_polls, day)) / BATCH_SIZE
    figures = Figures(count, floor, max(floor, first_deadline_instants(day)), 0, 0, 0, 0, 0, 0.0)
    wall = time.perf_counter()
    while True:
        soonest = await orders.due_for_tracking(float("inf"), limit=1)
        due = soonest[0].next_poll_at if soonest and soonest[0].next_poll_at else None
        candidates = [t for t in (due, events[0][0] if events else None) if t is not None]
        if next_arrival is not None:
            candidates.append(next_arrival.placed)
        if not candidates:
            break
        clock.now = max(clock.now, min(candidates))
        if next_arrival is not None and next_arrival.placed <= clock.now:
            life, next_arrival = next_arrival, next(arrivals, None)
            panel_id = await place(client, orders, life.placed)
            heapq.heappush(events, (life.started, len(events), panel_id, "In progress"))
            heapq.heappush(events, (life.completed, len(events), panel_id, "Completed"))
            open_orders += 1
            continue
        if events and events[0][0] <= clock.now:
            _, _, panel_id, status = heapq.heappop(events)
            sim.set_order(panel_id, status=status, remains=0 if status == "Completed" else None)
            open_orders -= status == "Completed"
            continue
        sim.reset_requests()
        await tracker.run_cycle()
        sizes = [len(form["orders"].split(",")) for _, form in sim.requests]
        figures.requests += len(sizes)
        figures.asked += sum(sizes)
        if open_orders >= BATCH_SIZE:
            figures.full_requests += len(sizes)
            figures.full_asked += sum(sizes)
        figures.left_due += len(await orders.due_for_tracking(clock.now, limit=1))
    figures.wall = time.perf_counter() - wall
    await client.close()
    await db.close()
    await sim.stop()
    return figures


async def place(client: PanelClient, orders: OrderRepository, now: float) -> int:
    """An order placed on the panel and recorded as the bot does: first polled a base later."""
    panel_id = await client.add(
        KEY, NewOrder(service=1, link="https://instagram.com/p/bench", quantity=100)
    )
    intent = await orders.create_intent(
        intent_token=uuid.uuid4().hex,
        owner_id=1,
        account=SHARED_LABEL,
        service_id=1,
        service_name="Instagram Followers",
        service_type="Default",
        rate=Decimal("0.90"),
        link="https://instagram.com/p/bench",
        quantity=100,
        extra={},
        price=Decimal("0.09"),
        currency=None,
        refillable=True,
        cancelable=True,
        now=now,
    )
    assert intent is not None
    await orders.mark_placed(
        intent.id,
        panel_id,
        first_poll_at=now + BASE_INTERVAL,
        poll_interval=BASE_INTERVAL,
        now=now,
    )
    return panel_id


# (name, early): the filling before this change, then the one the tracker now uses.
POLICIES = (
    ("before: early 0.5", 0.5),
    ("now: fill with the soonest (early 1)", 1.0),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--orders",
        type=int,
        nargs="+",
        default=[3_000, 10_000, 30_000],
        help="orders placed over the day, one day each",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--policy",
        nargs=2,
        action="append",
        metavar=("NAME", "EARLY"),
        help="instead of the default pair: a name and the tracker's `early`",
    )
    args = parser.parse_args()
    policies = [(name, float(early)) for name, early in args.policy] if args.policy else POLICIES
    # In memory where there is a tmpfs: the figures are requests, not fsyncs.
    shm = Path("/dev/shm")
    print(
        "orders a day | policy | requests | floor | bound | x floor (goal <= 1.2) | x bound "
        "| orders a request (100+ open; goal >= 80) | overall | left due (goal 0) | wall"
    )
    for count in args.orders:
        for name, early in policies:
            with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as folder:
                f = asyncio.run(run_day(count, args.seed, early, Path(folder) / "day.db"))
            print(
                f"{f.orders:,} | {name} | {f.requests:,} | {f.floor:,.0f} | {f.bound:,.0f} | "
                f"{f.requests / f.floor:.2f} | {f.requests / f.bound:.2f} | "
                f"{f.full_asked / max(f.full_requests, 1):.1f} | "
                f"{f.asked / max(f.requests, 1):.1f} | {f.left_due} | {f.wall:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
