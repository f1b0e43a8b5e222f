"""Crypto Pay's webhook served by the bot's webhook server beside Telegram's path: signed
updates from the simulator credit once; anything unsigned or forged gets 401 and nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher

from bot.payments.cryptopay import SIGNATURE_HEADER, CryptoPayClient, Invoice, signature
from bot.payments.webhook import CryptoPayWebhook
from bot.runners.inlet import UpdateInlet
from bot.runners.webhook import WebhookServer
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.services.topups import TopupService
from bot.storage import Database
from tests.topups.conftest import AuditedWallet, crypto_only

ALICE = 101
PATH = "/cryptopay"


class World:
    def __init__(self, sim: CryptoPaySimulator, service: TopupService, wallet: AuditedWallet):
        self.sim = sim
        self.service = service
        self.wallet = wallet
        self.broken = False

    async def on_paid(self, invoice: Invoice) -> None:
        if self.broken:
            raise RuntimeError("the database is away")
        await self.service.invoice_paid(invoice)

    async def paid_invoice(self) -> int:
        topup = await self.service.start_cryptopay(ALICE, 700, "Wallet top-up")
        invoice = await self.sim.pay(int(topup.charge_id or 0), notify=False)
        return invoice.invoice_id


@pytest.fixture
async def world(
    cryptopay: CryptoPaySimulator, client: CryptoPayClient, db: Database, wallet: AuditedWallet
) -> AsyncIterator[World]:
    service = crypto_only(client, db, wallet)
    world = World(cryptopay, service, wallet)
    bot = Bot("1:unused-token")
    server = WebhookServer(
        UpdateInlet(Dispatcher(), bot),
        secret="s" * 32,
        path="/telegram",
        host="127.0.0.1",
        port=0,
        grace=1.0,
        routes={PATH: CryptoPayWebhook(cryptopay.token, world.on_paid).handle},
    )
    await server.start()
    cryptopay.webhook_url = f"http://127.0.0.1:{server.bound_port}{PATH}"
    yield world
    await server.stop()
    await bot.session.close()


async def test_a_signed_update_credits_once_however_often_it_comes(world: World) -> None:
    invoice_id = await world.paid_invoice()
    body = world.sim.update_body(invoice_id)
    assert await world.sim.deliver(invoice_id, body=body) == 200
    assert await world.sim.deliver(invoice_id, body=body) == 200
    assert await world.sim.deliver(invoice_id) == 200  # a new delivery of the same payment
    assert await world.wallet.balances() == {ALICE: 700}


async def test_paying_in_the_simulator_sends_the_webhook(world: World) -> None:
    topup = await world.service.start_cryptopay(ALICE, 700, "Wallet top-up")
    await world.sim.pay(int(topup.charge_id or 0))
    assert [d.status for d in world.sim.deliveries] == [200]
    assert await world.wallet.balances() == {ALICE: 700}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {SIGNATURE_HEADER: ""},
        {SIGNATURE_HEADER: "0" * 64},
        {SIGNATURE_HEADER: "not hex at all"},
    ],
)
async def test_unsigned_or_badly_signed_gets_401_and_nothing(
    world: World, headers: dict[str, str]
) -> None:
    invoice_id = await world.paid_invoice()
    body = world.sim.update_body(invoice_id)
    assert await world.sim.post_raw(invoice_id, body, headers) == 401
    assert await world.wallet.balances() == {}


async def test_signed_with_another_token_gets_401(world: World) -> None:
    invoice_id = await world.paid_invoice()
    assert await world.sim.deliver(invoice_id, sign_with="777:AAforger") == 401
    assert await world.wallet.balances() == {}


async def test_a_body_changed_after_signing_gets_401(world: World) -> None:
    invoice_id = await world.paid_invoice()
    body = world.sim.update_body(invoice_id)
    signed = signature(world.sim.token, body)
    tampered = body.replace(b'"amount": "7.00"', b'"amount": "7000.00"')
    assert tampered != body
    assert await world.sim.post_raw(invoice_id, tampered, {SIGNATURE_HEADER: signed}) == 401
    assert await world.wallet.balances() == {}


async def test_a_failure_answers_500_so_crypto_pay_sends_it_again(world: World) -> None:
    invoice_id = await world.paid_invoice()
    world.broken = True
    assert await world.sim.deliver(invoice_id) == 500
    world.broken = False
    assert await world.sim.deliver(invoice_id) == 200
    assert await world.wallet.balances() == {ALICE: 700}


async def test_a_signed_body_that_is_no_update_gets_400(world: World) -> None:
    assert await world.sim.deliver(0, body=b'{"hello": "world"}') == 400
    assert await world.wallet.balances() == {}


async def test_telegrams_path_still_wants_its_own_secret(world: World) -> None:
    url = world.sim.webhook_url
    assert url is not None
    async with (
        aiohttp.ClientSession() as session,
        session.post(url.replace(PATH, "/telegram"), json={"update_id": 1}) as answer,
    ):
        assert answer.status == 401


async def test_a_signed_update_that_arrives_in_pieces_is_read_whole(world: World) -> None:
    invoice_id = await world.paid_invoice()
    body = world.sim.update_body(invoice_id)
    # Padding Crypto Pay might add (a long description, new fields): the body comes in chunks.
    padded = body[:-1] + b', "padding": "' + b"x" * 200_000 + b'"}'

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(padded), 4096):
            yield padded[start : start + 4096]
            await asyncio.sleep(0)  # the server reads what came so far before the rest

    async with aiohttp.ClientSession() as session:
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(world.sim.token, padded),
        }
        assert world.sim.webhook_url is not None
        async with session.post(world.sim.webhook_url, data=pieces(), headers=headers) as answer:
            assert answer.status == 200
    assert await world.wallet.balances() == {ALICE: 700}
