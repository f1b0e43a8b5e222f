"""The sandbox without a browser: the command, its API's refusals, the event stream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from bot.__main__ import main
from bot.sandbox.run import SHARED_KEY, Sandbox
from bot.sandbox.simulator import Outage

ROOT = Path(__file__).resolve().parents[2]


async def test_the_command_needs_no_settings_and_ignores_a_dot_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT_TOKEN=broken\nPANEL_URL=not-a-url\nLOG_LEVEL=DEBUG\n")
    env = {**os.environ, "BOT_TOKEN": "also-broken", "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--port",
        "0",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        assert line.startswith("Sandbox running: open http://127.0.0.1:"), line
        url = line.split("open ", 1)[1].split()[0]
        async with aiohttp.ClientSession() as http, http.get(url) as page:
            assert page.status == 200
            assert "SMM panel bot" in await page.text()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
        except TimeoutError:
            process.kill()  # a sandbox that ignores Ctrl-C must not outlive the test
            await process.wait()
            raise
    assert process.returncode == 0
    assert stdout == b""  # the address was all it printed
    assert stderr == b""


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(data_dir=tmp_path / "data") as started:
        yield started


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sandbox.page.url) as session:
        yield session


async def test_only_json_is_accepted_so_other_sites_cannot_act(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    async with http.post("/api/panel/balance", data={"key": SHARED_KEY, "amount": "0"}) as answer:
        assert answer.status == 415
    assert sandbox.sim.balance_of(SHARED_KEY) == 100


async def test_the_operator_is_told_why_a_move_is_refused(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    async with http.post("/api/panel/complete", json={"order": 4242}) as answer:
        assert answer.status == 409
        assert (await answer.json())["error"] == "no such order or refill"
    async with http.post("/api/panel/balance", json={"key": SHARED_KEY, "amount": "-1"}) as answer:
        assert answer.status == 409
    async with http.post("/api/people/1001/language", json={"language": "xx"}) as answer:
        assert answer.status == 409
    async with http.post("/api/people/1001/pay", json={"message_id": 1}) as answer:
        assert answer.status == 409  # no payments in the sandbox yet


async def test_the_page_is_sent_with_a_policy_allowing_its_own_files_only(
    http: aiohttp.ClientSession,
) -> None:
    async with http.get("/") as answer:
        policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy


async def test_the_stream_starts_with_a_snapshot_then_pushes_changes(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    async with http.get("/api/events") as stream:
        first = await _next_event(stream)
        assert first["type"] == "snapshot"
        assert [p["language"] for p in first["people"]] == ["en", "ru", "ja"]
        sandbox.sim.set_balance(SHARED_KEY, 7)
        panel = await _next_event(stream)
        assert panel["type"] == "panel"
        assert panel["panel"]["balances"][0]["amount"] == "7"
        sandbox.fake.person(1001).send_text("hello")
        chat = await _next_event(stream)
        assert chat["kind"] == "message_sent"
        assert chat["message"]["nodes"] == ["hello"]


async def _next_event(stream: aiohttp.ClientResponse) -> dict[str, object]:
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), 10)).decode()
        if line.startswith("data: "):
            event: dict[str, object] = json.loads(line.removeprefix("data: "))
            return event


async def test_a_page_reached_under_another_name_is_refused(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """A site whose name resolves to 127.0.0.1 (DNS rebinding) gets nothing from the sandbox."""
    async with http.post(
        "/api/panel/balance",
        json={"key": SHARED_KEY, "amount": "0"},
        headers={"Host": "evil.example:8080"},
    ) as answer:
        assert answer.status == 403
    assert sandbox.sim.balance_of(SHARED_KEY) == 100
    async with http.get("/", headers={"Host": "evil.example"}) as answer:
        assert answer.status == 403


def test_a_taken_port_is_one_clear_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_info:
            main(["sandbox", "--port", str(port)])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"cannot open the page on 127.0.0.1:{port}" in err


async def test_the_operator_moves_refills_switches_faults_and_a_person_blocks_the_bot(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sim = sandbox.sim
    async with aiohttp.ClientSession() as panel:
        form = {"key": SHARED_KEY, "action": "add", "service": "1", "link": "https://x.com/a"}
        async with panel.post(sim.url, data={**form, "quantity": "100"}) as answer:
            order = int((await answer.json())["order"])
        sim.complete_order(order)
        async with panel.post(
            sim.url, data={"key": SHARED_KEY, "action": "refill", "order": str(order)}
        ) as answer:
            refill = int((await answer.json())["refill"])

    async def operator(action: str, **body: object) -> int:
        async with http.post(f"/api/panel/{action}", json=body) as answer:
            return answer.status

    assert await operator("advance_refill", refill=refill) == 200
    assert sim.refills[refill].status == "In progress"
    assert await operator("set_refill", refill=refill, status="Rejected") == 200
    assert sim.refills[refill].status == "Rejected"
    assert await operator("advance_refill", refill=refill) == 409  # already final
    assert await operator("set_refill", refill=refill, status="<b>odd</b>") == 409
    assert await operator("outage", outage="html", on=True) == 200
    assert Outage.HTML in sim.outages
    assert await operator("outage", outage="html", on=False) == 200
    assert not sim.outages

    async with http.post("/api/people/1002/stop", json={}) as answer:
        assert (await answer.json())["person"]["blocked"] is True
    async with http.post("/api/people/1002/restart", json={}) as answer:
        assert (await answer.json())["person"]["blocked"] is False


async def test_a_kept_data_folder_keeps_the_panel_too(tmp_path: Path) -> None:
    """The bot's database remembers order 1000: the panel must, and must not reuse its id."""
    form = {"key": SHARED_KEY, "action": "add", "service": "1", "link": "https://x.com/a"}
    async with Sandbox(data_dir=tmp_path) as first, aiohttp.ClientSession() as panel:
        async with panel.post(first.sim.url, data={**form, "quantity": "100"}) as answer:
            assert (await answer.json())["order"] == "1000"
        first.sim.complete_order(1000)
    async with Sandbox(data_dir=tmp_path) as second, aiohttp.ClientSession() as panel:
        assert second.sim.orders[1000].status == "Completed"
        assert second.sim.balance_of(SHARED_KEY) == Decimal("99.91")
        async with panel.post(second.sim.url, data={**form, "quantity": "100"}) as answer:
            assert (await answer.json())["order"] == "1001"


async def test_a_kept_data_folder_never_takes_a_new_invoice_for_an_old_top_up(
    tmp_path: Path,
) -> None:
    """The simulated Crypto Pay forgets its invoices at a stop; the bot's database does not. An
    invoice of the next run with an old invoice's id would credit the old top-up instead."""
    async with Sandbox(data_dir=tmp_path) as first:
        old = await first.app.services.topups.start_cryptopay(1002, 500, "top-up")
    async with Sandbox(data_dir=tmp_path) as second:
        topups = second.app.services.topups
        new = await topups.start_cryptopay(1002, 500, "top-up")
        assert new.charge_id != old.charge_id
        assert second.cryptopay is not None
        await second.cryptopay.pay(int(str(new.charge_id)))
        await topups.poll_invoices()
        assert (await topups.usable(new.id, 1002)) is None  # credited
        assert (await topups.usable(old.id, 1002)) is not None  # still waiting for its invoice
        assert await second.app.services.wallets.balance(1002) == 1000 + 500


async def test_the_crypto_pay_page_refuses_what_crypto_pay_would(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    topup = await sandbox.app.services.topups.start_cryptopay(1001, 200, "top-up")
    assert topup.invoice_url is not None and topup.invoice_url.startswith(sandbox.page.url)
    path = "/api/cryptopay/" + topup.invoice_url.rsplit("/", 1)[1]
    async with http.get("/cryptopay/IVnosuchinvoice") as answer:
        assert answer.status == 404
    async with http.post(path + "/pay", data={"asset": "USDT"}) as answer:
        assert answer.status == 415  # another site's form cannot pay
    async with http.post(path + "/pay", json={"asset": "DOGE"}) as answer:
        assert answer.status == 409  # not an asset the invoice takes
    async with http.post(path + "/pay", json={"asset": "USDT"}) as answer:
        assert (await answer.json())["invoice"]["status"] == "paid"
    async with http.post(path + "/pay", json={"asset": "TON"}) as answer:
        assert answer.status == 409  # paid already
    assert sandbox.cryptopay is not None
    assert [i.paid_asset for i in sandbox.cryptopay.invoices.values()] == ["USDT"]
