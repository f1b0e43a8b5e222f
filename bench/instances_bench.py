"""Updates handled per second with one webhook front end and with two, as real processes.

Run by hand: ``python -m bench.instances_bench`` (about a minute with the defaults, mostly
process starts; needs Redis on 127.0.0.1:6379). The fake Bot API and the panel simulator run
in this process; each front end is a ``python -m bot`` process (RUNNER=webhook,
RUN_WORKER=false) on one database (SQLite, or ``--database-url postgresql+asyncpg://...``: a
schema of its own there, dropped at the end) and one Redis (its own key prefix, removed at the
end). The fake delivers to the front ends in turn, as a load balancer would. For each set-up,
N people not seen before send /help at once (each writes the person's row and answers), and
the figure is N divided by the time until the last update was answered 2xx.

The ratio (two / one) is the figure; absolute rates depend on the machine's load. On a machine
with fewer free cores than processes (the fake Bot API included) the ratio stays near 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from cryptography.fernet import Fernet
from redis.asyncio import Redis
from sqlalchemy import make_url

from bot.sandbox.simulator import PanelSimulator
from tests.databases import database
from tests.fakes.telegram import FakeTelegram

REDIS_URL = "redis://127.0.0.1:6379/0"
SECRET = "bench-webhook-secret-0123456789-abcdefghijklmnop"
BALANCER = "http://127.0.0.1:9/telegram"  # what Telegram is told; the fake routes instead
START_TIMEOUT = 60.0
TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def front_end(
    tg: FakeTelegram, sim: PanelSimulator, folder: Path, database: str, prefix: str
) -> AsyncIterator[int]:
    secret_key = (folder / "secret.key").read_text()
    """A `python -m bot` webhook front end; yields the port it listens on."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": tg.token,
        "TELEGRAM_API_URL": tg.base_url,
        "PANEL_URL": sim.url,
        "DATABASE_URL": database,
        "SECRET_KEY": secret_key,
        "RUNNER": "webhook",
        "WEBHOOK_URL": BALANCER,
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": SECRET,
        "RUN_WORKER": "false",
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        "TELEGRAM_MESSAGES_PER_SECOND": "100000",
        "TELEGRAM_CHAT_INTERVAL_SECONDS": "0",
        "THROTTLE_UPDATES_PER_SECOND": "1000",
        "THROTTLE_BURST": "1000",
        "LOG_LEVEL": "WARNING",
    }
    asked = len(tg.calls_of("getWebhookInfo"))
    with (folder / f"front-{port}.log").open("a") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, cwd=folder, stdout=log, stderr=log
        )
    try:
        # A front end asks for the webhook's state once its server listens.
        await tg.wait_for(
            lambda: len(tg.calls_of("getWebhookInfo")) > asked or process.returncode is not None,
            START_TIMEOUT,
        )
        if process.returncode is not None:
            raise RuntimeError((folder / f"front-{port}.log").read_text())
        yield port
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await process.wait()


async def rate(tg: FakeTelegram, ports: list[int], people: range) -> float:
    """Updates a second through the front ends on `ports`, one /help from each person."""
    tg.webhook.route_to([f"http://127.0.0.1:{port}/telegram" for port in ports])
    started = time.perf_counter()
    for person in people:
        tg.send_text(person, "/help")
    async with asyncio.timeout(TIMEOUT):
        await tg.webhook.wait_delivered()
    return len(people) / (time.perf_counter() - started)


async def main(count: int, database_url: str | None) -> None:
    prefix = f"bench-{uuid.uuid4().hex[:12]}"
    redis = Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # One key for all front ends (a PostgreSQL database needs SECRET_KEY).
        (folder / "secret.key").write_text(Fernet.generate_key().decode())
        async with (
            PanelSimulator() as sim,
            FakeTelegram() as tg,
            database(database_url, folder) as url,
        ):
            try:
                async with front_end(tg, sim, folder, url, prefix) as first:
                    await rate(tg, [first], range(1, 21))  # warm up: imports, first queries
                    one = await rate(tg, [first], range(1000, 1000 + count))
                    async with front_end(tg, sim, folder, url, prefix) as second:
                        await rate(tg, [first, second], range(21, 41))
                        two = await rate(tg, [first, second], range(5000, 5000 + count))
            finally:
                async for key in redis.scan_iter(match=f"{prefix}:*"):
                    await redis.delete(key)
                await redis.aclose()
    backend = make_url(url).get_backend_name()
    cores = os.cpu_count()
    print(f"updates a second, {count} people's first /help each, {backend}, {cores} cores:")
    print(f"  one front end:  {one:7.1f}")
    print(f"  two front ends: {two:7.1f}")
    print(f"  ratio two / one: {two / one:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200, help="updates per set-up")
    parser.add_argument("--database-url", help="a PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    asyncio.run(main(args.people, args.database_url))
