"""A hostile or broken panel over real HTTP: per action, a canned body, an endless flood, or no
answer at all until the test ends. Used by the panel tests and by the end-to-end ones."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

FLOOD_CHUNK = b"9" * 65536


class HostilePanel:
    def __init__(self) -> None:
        self.url = ""
        self.bodies: dict[str, str] = {}
        self.floods: dict[str, tuple[bytes, int, bool]] = {}
        self.hanging: set[str] = set()
        self.requests: list[str] = []
        self.flood_sent = 0  # bytes of the last flood that went out before the client left
        self.flood_over = asyncio.Event()
        self.hung = asyncio.Event()  # a request is being held
        self._release = asyncio.Event()

    def answer(self, action: str, body: str) -> None:
        self.bodies[action] = body

    def flood(self, action: str, prefix: bytes, size: int, *, announce: bool = False) -> None:
        """`size` bytes starting with `prefix`; `announce`: with a Content-Length header."""
        self.floods[action] = (prefix, size, announce)

    def hang(self, action: str) -> None:
        self.hanging.add(action)

    def request_count(self, action: str) -> int:
        return self.requests.count(action)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        action = str((await request.post()).get("action", ""))
        self.requests.append(action)
        if action in self.hanging:
            self.hung.set()
            await self._release.wait()
        if action in self.floods:
            return await self._flood(request, *self.floods[action])
        return web.Response(text=self.bodies.get(action, "{}"), content_type="application/json")

    async def _flood(
        self, request: web.Request, prefix: bytes, size: int, announce: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if announce:
            response.content_length = size
        await response.prepare(request)
        self.flood_sent = 0
        try:
            await response.write(prefix)
            self.flood_sent = len(prefix)
            while self.flood_sent < size:
                await response.write(FLOOD_CHUNK)
                self.flood_sent += len(FLOOD_CHUNK)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up: what this test is about
        finally:
            self.flood_over.set()
        return response

    def release(self) -> None:
        self._release.set()


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[HostilePanel]:
    panel = HostilePanel()
    app = web.Application(client_max_size=2**20)
    app.router.add_route("*", "/api/v2", panel.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    panel.url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v2"
    try:
        yield panel
    finally:
        panel.release()
        await runner.cleanup()
