"""Two webhook front ends and two workers as real `python -m bot` processes on one database
(PostgreSQL when TEST_DATABASE_URL names one) and one Redis, the fake Bot API delivering to the
front ends in turn as a load balancer would.

One scenario: every process start costs seconds on a busy machine.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.sandbox.simulator import PanelSimulator
from bot.shared.connection import SharedRedis
from bot.shared.isolation import LOCK_SECONDS
from tests.bot.harness import ALICE, BOB, WEBHOOK_SECRET, free_port
from tests.bot.test_lifecycle import START_TIMEOUT, BotProcess, assert_clean_log, press, say
from tests.conftest import BACKENDS
from tests.fakes.telegram import FakeTelegram
from tests.instances.conftest import REDIS_URL

BALANCER = "http://127.0.0.1:9/telegram"  # the address Telegram knows; nothing listens there
LINK = "https://instagram.com/alice"
LEASE_SECONDS = 3  # a dead worker is replaced within this


class Instance(BotProcess):
    """One process of several: its own log; ready when it has said so to Telegram or the log."""

    def __init__(
        self,
        name: str,
        tmp_path: Path,
        sim: PanelSimulator,
        tg: FakeTelegram,
        *,
        ready: str = "",
        **env: str,
    ) -> None:
        super().__init__(tmp_path, sim, tg)
        self.name = name
        self.log = tmp_path / f"{name}.log"
        del self.env["DATABASE_PATH"]  # DATABASE_URL instead
        self.env.update(env)
        self.args = ["worker"] if ready else []
        self._ready = ready  # a worker's line saying it works or waits

    async def start(self) -> None:
        asked = len(self.tg.calls_of("getWebhookInfo"))
        with self.log.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self._command(), env=self.env, cwd=self.tmp_path, stdout=log, stderr=log
            )
        if self._ready:
            await self._wait_for_line(self._ready)
        else:
            # A front end asks for the webhook's state once its server listens.
            await self.tg.wait_for(
                lambda: len(self.tg.calls_of("getWebhookInfo")) > asked or self.exited,
                START_TIMEOUT,
            )
        assert not self.exited, self.log.read_text()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['WEBHOOK_PORT']}/telegram"

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "bot", *self.args]

    async def _wait_for_line(self, text: str) -> None:
        # A log file has no event to await: read again every 50 ms, up to START_TIMEOUT.
        async with asyncio.timeout(START_TIMEOUT):
            while text not in self.log.read_text() and not self.exited:  # noqa: ASYNC110
                await asyncio.sleep(0.05)


@pytest.fixture
async def instances(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, shared: SharedRedis, database_url: str
) -> AsyncIterator[dict[str, Instance]]:
    common = {
        "DATABASE_URL": database_url,
        "WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": shared.prefix,
        "SECRET_KEY": Fernet.generate_key().decode(),
        "RUN_WORKER": "false",
        "POLL_INTERVAL_SECONDS": "0.3",
        "POLL_MAX_INTERVAL_SECONDS": "1",
    }
    # Front ends wait long for the panel: a request held there stays in flight until killed.
    front = {
        **common,
        "RUNNER": "webhook",
        "WEBHOOK_URL": BALANCER,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PANEL_TIMEOUT_SECONDS": "30",
    }
    started = {
        "front-a": Instance("front-a", tmp_path, sim, tg, **front, WEBHOOK_PORT=str(free_port())),
        "front-b": Instance("front-b", tmp_path, sim, tg, **front, WEBHOOK_PORT=str(free_port())),
        "worker-1": Instance("worker-1", tmp_path, sim, tg, ready="worker started", **common),
        "worker-2": Instance("worker-2", tmp_path, sim, tg, ready="waiting to take over", **common),
    }
    try:
        for instance in started.values():
            await instance.start()
        tg.webhook.route_to([started["front-a"].url, started["front-b"].url])
        yield started
    finally:
        for instance in started.values():
            await instance.kill()


@pytest.mark.timeout(240)  # four process starts, each seconds on a busy machine
# PostgreSQL when the suite has one (CI), else SQLite: not both, the processes cost too much.
@pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)
async def test_an_order_across_front_ends_a_double_confirm_and_instances_killed(
    instances: dict[str, Instance], sim: PanelSimulator, tg: FakeTelegram
) -> None:
    # One front end set the webhook; the other found it set.
    assert len(tg.calls_of("setWebhook")) == 1

    # Each step lands on the other front end: the conversation is in Redis.
    await say(tg, ALICE, "/search 2", lambda t: "Found" in t)
    await press(tg, ALICE, "#2 ", lambda t: "Service ID: 2" in t)
    await press(tg, ALICE, "Order", lambda t: "Send the link" in t)
    await say(tg, ALICE, LINK, lambda t: "How many?" in t)
    confirmation = await say(tg, ALICE, "100", lambda t: "check your order" in t)
    assert LINK in confirmation

    # Confirm pressed twice at once: one press reaches each front end.
    message = tg.last_message(ALICE)
    assert message is not None
    data = message.button("Confirm")["callback_data"]
    presses = [tg.press(ALICE, message.message_id, data) for _ in range(2)]
    await tg.wait_for(lambda: all(p in tg.callback_answers for p in presses), timeout=20)
    await tg.webhook.wait_delivered()
    [order] = sim.orders.values()
    assert order.fields["link"] == LINK
    assert len([m for m in tg.transcript(ALICE) if "Placed" in m.text]) == 1

    # The worker holding the lease is killed while it asks the panel for statuses: the order
    # completes meanwhile, and the waiting worker takes over and tells it, once.
    sim.fail_next("hang", action="status")
    polled = sim.request_count("status")
    async with asyncio.timeout(20):
        await sim.wait_for_requests(polled + 1, "status")
    sim.complete_order(order.id)
    await instances["worker-1"].kill()
    await tg.wait_for(
        lambda: any("Completed" in m.text for m in tg.transcript(ALICE)), LEASE_SECONDS + 20
    )

    # A front end killed while it handles an update: it never answered, so Telegram delivers
    # the update again, and the other front end answers it.
    sim.fail_next("hang", action="balance")
    tg.webhook.route_to([instances["front-a"].url])
    asked = sim.request_count("balance")  # placing the order asked too
    tg.send_text(BOB, "/balance")
    async with asyncio.timeout(20):
        await sim.wait_for_requests(asked + 1, "balance")
    tg.webhook.route_to([instances["front-a"].url, instances["front-b"].url])
    await instances["front-a"].kill()
    # Bob's lock, held by the dead front end, frees itself within LOCK_SECONDS.
    await tg.wait_for(
        lambda: any("Balance: " in m.text for m in tg.transcript(BOB)), LOCK_SECONDS + 10
    )
    await tg.webhook.wait_delivered()

    assert len([m for m in tg.transcript(BOB) if "Balance" in m.text]) == 1
    assert len([m for m in tg.transcript(ALICE) if "Completed" in m.text]) == 1
    assert instances["front-b"].process is not None
    assert await instances["front-b"].stop(signal.SIGTERM) == 0
    assert await instances["worker-2"].stop(signal.SIGTERM) == 0
    assert "takes over" in instances["worker-2"].log.read_text()
    for name in ("front-b", "worker-2"):
        assert_clean_log(instances[name])
