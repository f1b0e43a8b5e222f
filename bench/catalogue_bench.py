"""Catalogue benchmark: how long a big catalogue holds the event loop while the client reads it.

Run by hand: ``python -m bench.catalogue_bench [--services N]`` (a few seconds). A ticker on the
loop records its longest gap, once with parsing off the loop (as the client does above
THREAD_ABOVE_BYTES) and once with it on the loop, for comparison in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from aiohttp import web

from bot.panel import client as panel_client
from bot.panel.client import PanelClient

KEY = "bench-key-0123456789abcdef"


def catalogue(count: int) -> str:
    return json.dumps(
        [
            {
                "service": i,
                "name": f"Instagram Followers [Max {i}K] fast start, real accounts",
                "type": "Default",
                "category": f"Instagram Followers {i % 40}",
                "rate": "0.90",
                "min": "50",
                "max": "10000",
                "refill": True,
                "cancel": True,
                "dripfeed": False,
                "desc": "Start 0-1 h, speed 10K/day, 30 days refill. " * 3,
            }
            for i in range(1, count + 1)
        ]
    )


async def longest_stall(url: str) -> tuple[float, float]:
    """(seconds the read took, longest gap between two ticks of the loop meanwhile)."""
    longest = 0.0
    stop = asyncio.Event()

    async def tick() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    async with PanelClient(url, timeout=120, read_retries=0) as panel:
        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        await panel.services(KEY)
        took = time.perf_counter() - started
        stop.set()
        await ticker
    return took, longest


async def main(count: int) -> None:
    body = catalogue(count)
    app = web.Application()

    async def handle(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text=body, content_type="application/json")

    app.router.add_post("/api/v2", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v2"
    print(f"catalogue: {count} services, {len(body) / 2**20:.1f} MB")
    try:
        off_took, off_stall = await longest_stall(url)
        threshold = panel_client.THREAD_ABOVE_BYTES
        panel_client.THREAD_ABOVE_BYTES = 2**62  # everything on the loop, for comparison
        try:
            on_took, on_stall = await longest_stall(url)
        finally:
            panel_client.THREAD_ABOVE_BYTES = threshold
    finally:
        await runner.cleanup()
    print(f"parsed off the loop: read in {off_took:.2f} s, loop held at most {off_stall:.3f} s")
    print(f"parsed on the loop:  read in {on_took:.2f} s, loop held at most {on_stall:.3f} s")
    print(f"longest hold, off/on: {off_stall / on_stall:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().services))
