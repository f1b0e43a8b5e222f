"""Tracking benchmark: full status cycles over 1,000 to 100,000 open orders.

Run by hand: ``python -m bench.tracking_bench`` (about a minute with the defaults);
``--database-url postgresql+asyncpg://user@host/db`` measures PostgreSQL instead (in a fresh
schema, dropped after).
The panel simulator runs in its own process, answering over real HTTP on 127.0.0.1, so the
tracker's CPU time is measured apart from the panel's. The orders are seeded straight into the
simulator's state and into a real SQLite file (placing 100,000 orders through `add` would only
measure `add`). Each size runs in a fresh tracker process, so its peak memory is its own.

Three cycles per size, each with every order due (the clock jumps past the longest interval):
- first: no order has a status yet, so every answer is stored (the heaviest write path);
- steady: nothing changed on the panel, so every order is only rescheduled;
- 10% done: a tenth of the orders became Completed (stored, final, never asked again).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import math
import multiprocessing
import resource
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.panel.client import PanelClient
from bot.sandbox.simulator import PanelSimulator, SimOrder
from bot.services.accounts import SHARED_LABEL, AccountResolver
from bot.services.tracking import OrderTracker
from bot.storage import (
    Database,
    KeyRepository,
    OrderRepository,
    RefillRepository,
    SecretBox,
    sqlite_url,
)

KEY = "bench-shared-key-0123456789"
FIRST_ORDER = 10_000_000
BASE_INTERVAL = 60.0
MAX_INTERVAL = 1800.0
SIZES = (1_000, 10_000, 100_000)


# --- the panel, in its own process ------------------------------------------------------------


def seed_simulator(sim: PanelSimulator, count: int) -> None:
    """Open orders straight into the simulator's state: it has no bulk seeding API."""
    for number in range(count):
        order_id = FIRST_ORDER + number
        sim._orders[order_id] = SimOrder(
            id=order_id,
            key=KEY,
            service=1,
            fields={"link": "https://instagram.com/p/bench", "quantity": "100"},
            quantity=100,
            charge=Decimal("0.09"),
            status="In progress",
            start_count=1000,
            remains=100,
        )
    sim._next_order = FIRST_ORDER + count


def simulator_process(conn: Connection, count: int) -> None:
    async def serve() -> None:
        sim = PanelSimulator(keys={KEY: Decimal(10**9)})
        seed_simulator(sim, count)
        conn.send(await sim.start())
        loop = asyncio.get_running_loop()
        while True:
            command, argument = await loop.run_in_executor(None, conn.recv)
            if command == "stats":
                conn.send((time.process_time(), sim.request_count("status")))
            elif command == "complete":  # every `argument`-th order is done
                for order_id in range(FIRST_ORDER, FIRST_ORDER + count, argument):
                    sim.set_order(order_id, status="Completed", remains=0)
                conn.send(None)
            else:
                break
        await sim.stop()

    asyncio.run(serve())


# --- the bot's side ---------------------------------------------------------------------------


async def seed_database(path: str, count: int) -> None:
    """Placed orders without a status, all due: written in one statement, not through the
    repository one by one (the seeding is not what is measured)."""
    db = await Database.open(path)
    rows = [
        {
            "token": f"bench-{number}",
            "owner": 1_000 + number % 5_000,  # 5,000 people
            "account": SHARED_LABEL,
            "panel_id": FIRST_ORDER + number,
            "service": 1,
            "name": "Instagram Followers [Max 10K]",
            "type": "Default",
            "rate": "0.90",
            "link": "https://instagram.com/p/bench",
            "quantity": 100,
            "price": "0.09",
            "next_poll_at": 0.0,
            "interval": BASE_INTERVAL,
        }
        for number in range(count)
    ]
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO orders (intent_token, owner_id, account, panel_order_id, service_id, "
            "service_name, service_type, rate, link, quantity, price, placement, refillable, "
            "cancelable, final, next_poll_at, poll_interval, created_at, updated_at) "
            "VALUES (:token, :owner, :account, :panel_id, :service, :name, :type, :rate, :link, "
            ":quantity, :price, 'placed', 1, 1, 0, :next_poll_at, :interval, 0, 0)",
            rows,
        )
    await db.close()


@dataclass
class CycleFigures:
    name: str
    requests: int
    panel_saw: int
    changed: int
    wall: float
    cpu: float
    loop_cpu: float  # of `cpu`, the event loop's thread (the rest: the database thread)
    gc_seconds: float  # of the loop's time, in the garbage collector
    full_collections: int
    panel_cpu: float


class GcWatch:
    """Time spent in the garbage collector, and its full (generation 2) collections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._started = 0.0
        gc.callbacks.append(self._observe)

    def stop(self) -> None:
        gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        self.full += info["generation"] == 2


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, not ru_maxrss: after a spawn,
    ru_maxrss still counts the pages of the parent the child was forked from."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def shared_key_tracker(
    db: Database, client: PanelClient, key: str, clock: Callable[[], float], **options: Any
) -> OrderTracker:
    """The real tracker over `db`, every order on the shared account of `key`."""
    accounts = AccountResolver(client, KeyRepository(db, SecretBox(Fernet.generate_key())), key)
    return OrderTracker(
        OrderRepository(db),
        RefillRepository(db),
        accounts,
        base_interval=BASE_INTERVAL,
        max_interval=MAX_INTERVAL,
        clock=clock,
        **options,
    )


def tracker_process(
    url: str,
    db_path: str,
    count: int,
    panel: Connection,
    results: Connection,
    profile: str | None = None,
) -> None:
    async def measure() -> tuple[list[CycleFigures], float, float]:
        start_rss = peak_rss_mb()
        db = await Database.open(db_path)
        client = PanelClient(url, timeout=60)
        clock = FakeClock()
        tracker = shared_key_tracker(db, client, KEY, clock)
        gc.freeze()  # as `python -m bot` does once the bot is open (the tracker runs in it)
        figures = []
        for name in ("first", "steady", "10% done"):
            if name == "10% done":
                panel.send(("complete", 10))
                panel.recv()
            clock.now += MAX_INTERVAL * 2  # every open order is due
            panel.send(("stats", None))
            panel_cpu, panel_requests = panel.recv()
            profiler = cProfile.Profile() if profile else None
            watch = GcWatch()
            wall, cpu, loop_cpu = time.perf_counter(), time.process_time(), time.thread_time()
            if profiler is not None:
                profiler.enable()
            report = await tracker.run_cycle()
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(f"{profile}.{name.split()[0].strip('%')}")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            loop_cpu = time.thread_time() - loop_cpu
            watch.stop()
            panel.send(("stats", None))
            panel_cpu_after, panel_requests_after = panel.recv()
            figures.append(
                CycleFigures(
                    name=name,
                    requests=report.requests,
                    panel_saw=panel_requests_after - panel_requests,
                    changed=report.changed,
                    wall=wall,
                    cpu=cpu,
                    loop_cpu=loop_cpu,
                    gc_seconds=watch.seconds,
                    full_collections=watch.full,
                    panel_cpu=panel_cpu_after - panel_cpu,
                )
            )
        await client.close()
        await db.close()
        return figures, start_rss, peak_rss_mb()

    results.send(asyncio.run(measure()))


@contextlib.contextmanager
def fresh_database(server_url: str | None) -> Iterator[str]:
    """A temporary SQLite file, or a fresh schema on the server (dropped after)."""
    if server_url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield sqlite_url(Path(folder) / "bench.sqlite3")
        return
    schema = f"bench_{secrets.token_hex(6)}"

    async def ddl(statement: str) -> None:
        engine = create_async_engine(server_url)
        async with engine.begin() as conn:
            await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(ddl(f"CREATE SCHEMA {schema}"))
    try:
        yield (
            make_url(server_url)
            .update_query_dict({"schema": schema})
            .render_as_string(hide_password=False)
        )
    finally:
        asyncio.run(ddl(f"DROP SCHEMA {schema} CASCADE"))


def run_size(count: int, server_url: str | None, profile: str | None = None) -> None:
    spawn = multiprocessing.get_context("spawn")
    panel_end, simulator_end = spawn.Pipe()
    simulator = spawn.Process(target=simulator_process, args=(simulator_end, count))
    simulator.start()
    url = panel_end.recv()
    with fresh_database(server_url) as db_path:
        asyncio.run(seed_database(db_path, count))
        results_in, results_out = spawn.Pipe(duplex=False)
        tracker = spawn.Process(
            target=tracker_process, args=(url, db_path, count, panel_end, results_out, profile)
        )
        tracker.start()
        figures, start_rss, peak_rss = results_in.recv()
        tracker.join()
    panel_end.send(("stop", None))
    simulator.join()

    expected = math.ceil(count / 100)
    backend = "SQLite" if server_url is None else "PostgreSQL"
    print(f"{count:,} open orders on {backend} (requests expected per full cycle: {expected:,})")
    for f in figures:
        print(
            f"  {f.name:>9} cycle: {f.requests:,} status requests (panel saw {f.panel_saw:,}), "
            f"{f.changed:,} changed; wall {f.wall:.2f} s; tracker CPU {f.cpu:.2f} s "
            f"(event loop {f.loop_cpu:.2f} s, of it {f.gc_seconds:.2f} s collecting garbage in "
            f"{f.full_collections} full collections; database thread {f.cpu - f.loop_cpu:.2f} s); "
            f"simulator CPU {f.panel_cpu:.2f} s; tracker/simulator "
            f"{f.cpu / max(f.panel_cpu, 1e-9):.1f} x"
        )
    print(
        f"  tracker process peak RSS {peak_rss:.0f} MB "
        f"({start_rss:.0f} MB of it before the database was opened, mostly imports)"
    )
    bad = [f.name for f in figures if f.requests != expected]
    if bad:
        print(f"  !! cycles {bad} did not make exactly {expected} requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--database-url", help="a PostgreSQL server (default: a SQLite file)")
    parser.add_argument(
        "--profile", metavar="PREFIX", help="cProfile each cycle into PREFIX.<cycle> (slower)"
    )
    args = parser.parse_args()
    for count in args.sizes:
        run_size(count, args.database_url, args.profile)


if __name__ == "__main__":
    main()
