"""Fixtures of the panel tests: the simulator and a raw canned-answer server, over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from aiohttp import web

from bot.panel.account import PanelAccount
from bot.panel.client import PanelClient
from bot.sandbox.simulator import PanelSimulator

# Distinctive enough to be grepped for in logs and exception texts.
KEY = "PANEL-KEY-0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c"
OTHER_KEY = "OTHER-KEY-aaaabbbbccccddddeeeeffff00001111"


@pytest.fixture
def key() -> str:
    return KEY


@pytest.fixture
def other_key() -> str:
    return OTHER_KEY


@pytest.fixture(params=[True, False], ids=["strings", "numbers"])
def numbers_as_strings(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
async def sim() -> AsyncIterator[PanelSimulator]:
    async with PanelSimulator(keys={KEY: Decimal("100"), OTHER_KEY: Decimal("5")}) as simulator:
        yield simulator


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., PanelClient]]:
    """A factory of clients with test timeouts; every client is closed at teardown."""
    clients: list[PanelClient] = []

    def make(
        url: str,
        *,
        timeout: float = 0.3,
        read_retries: int = 2,
        user_agent: str | None = None,
        deadline: float | None = None,
    ) -> PanelClient:
        extra = {} if user_agent is None else {"user_agent": user_agent}
        panel = PanelClient(
            url,
            timeout=timeout,
            read_retries=read_retries,
            retry_backoff=0.01,
            interactive_deadline=deadline,
            **extra,
        )
        clients.append(panel)
        return panel

    yield make
    for panel in clients:
        await panel.close()


@pytest.fixture
async def client(sim: PanelSimulator) -> AsyncIterator[PanelClient]:
    async with PanelClient(sim.url, timeout=0.3, read_retries=2, retry_backoff=0.01) as panel:
        yield panel


@pytest.fixture
def account(client: PanelClient) -> PanelAccount:
    return PanelAccount(client, KEY)


class CannedPanel:
    """A raw HTTP server answering whatever body the test sets: for answer variants."""

    def __init__(self) -> None:
        self.body = "{}"
        self.status = 200
        self.headers: dict[str, str] = {}
        self.forms: list[dict[str, str]] = []
        self.user_agents: list[str | None] = []
        self.url = ""

    def reply(self, body: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.body, self.status, self.headers = body, status, headers or {}

    async def handle(self, request: web.Request) -> web.Response:
        self.forms.append({k: str(v) for k, v in (await request.post()).items()})
        self.user_agents.append(request.headers.get("User-Agent"))
        return web.Response(
            text=self.body, status=self.status, headers=self.headers, content_type="text/html"
        )


@pytest.fixture
async def canned() -> AsyncIterator[CannedPanel]:
    panel = CannedPanel()
    app = web.Application()
    app.router.add_route("*", "/api/v2", panel.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    panel.url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v2"
    yield panel
    await runner.cleanup()


@pytest.fixture
def closed_port_url() -> str:
    """The URL of a port nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v2"
