"""The Crypto Pay client against the simulator over HTTP, and the webhook signature."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest

from bot.payments.cryptopay import (
    MAINNET_URL,
    TESTNET_URL,
    CryptoPayClient,
    CryptoPayRefused,
    CryptoPayUnavailable,
    InvoiceStatus,
    api_url,
    parse_update,
    signature,
    signature_valid,
)
from bot.sandbox.cryptopay import CryptoPaySimulator


async def _invoice(client: CryptoPayClient, payload: str = "7", amount: str = "10.00"):
    return await client.create_invoice(
        fiat="USD",
        amount=Decimal(amount),
        accepted_assets=["USDT", "TON"],
        payload=payload,
        description="Wallet top-up",
        expires_in=600,
    )


async def test_an_invoice_in_fiat_with_accepted_assets(
    client: CryptoPayClient, cryptopay: CryptoPaySimulator
) -> None:
    invoice = await _invoice(client, amount="12.50")
    assert invoice.status == InvoiceStatus.ACTIVE and not invoice.paid
    assert (invoice.fiat, invoice.amount, invoice.payload) == ("USD", Decimal("12.50"), "7")
    assert invoice.accepted_assets == ["USDT", "TON"]
    assert invoice.bot_invoice_url.startswith("http://127.0.0.1:")
    assert invoice.expiration_date is not None
    assert cryptopay.invoices[invoice.invoice_id].amount == Decimal("12.50")


async def test_get_invoices_by_ids_and_status(
    client: CryptoPayClient, cryptopay: CryptoPaySimulator
) -> None:
    first, second, third = [await _invoice(client, str(n)) for n in range(3)]
    await cryptopay.pay(second.invoice_id, "TON")
    cryptopay.expire(third.invoice_id)
    ids = [first.invoice_id, second.invoice_id, third.invoice_id]
    statuses = {i.invoice_id: i.status for i in await client.get_invoices(ids)}
    assert statuses == {
        first.invoice_id: "active",
        second.invoice_id: "paid",
        third.invoice_id: "expired",
    }
    paid = await client.get_invoices(ids, status=InvoiceStatus.PAID)
    assert [(i.invoice_id, i.paid_asset, i.paid_amount) for i in paid] == [
        (second.invoice_id, "TON", Decimal("10.00"))
    ]
    assert await client.get_invoices([first.invoice_id]) == [
        i for i in await client.get_invoices(ids) if i.invoice_id == first.invoice_id
    ]


async def test_delete_invoice(client: CryptoPayClient, cryptopay: CryptoPaySimulator) -> None:
    invoice = await _invoice(client)
    assert await client.delete_invoice(invoice.invoice_id) is True
    assert await client.get_invoices([invoice.invoice_id]) == []
    with pytest.raises(CryptoPayRefused) as refused:
        await client.delete_invoice(invoice.invoice_id)
    assert refused.value.name == "INVOICE_NOT_FOUND"


async def test_a_wrong_token_is_refused_and_never_shown(cryptopay: CryptoPaySimulator) -> None:
    client = CryptoPayClient("999:wrong-token-value", cryptopay.url)
    try:
        with pytest.raises(CryptoPayRefused) as refused:
            await _invoice(client)
    finally:
        await client.close()
    assert refused.value.code == 401
    assert "wrong-token-value" not in str(refused.value) + repr(client)


async def test_an_outage_is_an_unknown_outcome(
    client: CryptoPayClient, cryptopay: CryptoPaySimulator
) -> None:
    cryptopay.fail_next()
    with pytest.raises(CryptoPayUnavailable):
        await _invoice(client)
    assert cryptopay.invoices == {}
    await cryptopay.stop()
    with pytest.raises(CryptoPayUnavailable):
        await client.get_invoices([1])


def test_network_urls() -> None:
    assert api_url("mainnet") == MAINNET_URL == "https://pay.crypt.bot/api"
    assert api_url("testnet") == TESTNET_URL == "https://testnet-pay.crypt.bot/api"
    assert api_url("mainnet", "http://127.0.0.1:9/api/") == "http://127.0.0.1:9/api"


def test_signature_is_hmac_of_the_raw_body_keyed_with_the_tokens_sha256() -> None:
    token, body = "1234:AAtoken", b'{"update_id":1}'
    expected = hmac.new(hashlib.sha256(token.encode()).digest(), body, hashlib.sha256).hexdigest()
    assert signature(token, body) == expected
    assert signature_valid(token, body, expected)
    assert signature_valid(token, body, expected.upper())  # hex is hex, whatever its case
    assert not signature_valid(token, body + b" ", expected)
    assert not signature_valid("1234:AAother", body, expected)
    assert not signature_valid(token, body, None)
    assert not signature_valid(token, body, "")
    assert not signature_valid(token, body, "zz" + expected[2:])
    assert not signature_valid(token, body, "é" * 64)


async def test_the_simulators_update_parses_and_is_signed(
    cryptopay: CryptoPaySimulator, client: CryptoPayClient
) -> None:
    invoice = await _invoice(client)
    await cryptopay.pay(invoice.invoice_id, notify=False)
    body = cryptopay.update_body(invoice.invoice_id)
    update = parse_update(body)
    assert update.update_type == "invoice_paid"
    assert update.payload.invoice_id == invoice.invoice_id and update.payload.paid
    with pytest.raises(ValueError):
        parse_update(b'{"update_id": 1}')
    with pytest.raises(ValueError):
        parse_update(b"not json")


async def test_the_token_is_never_logged(
    cryptopay: CryptoPaySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    client = CryptoPayClient(cryptopay.token, cryptopay.url)
    try:
        cryptopay.fail_next()
        with pytest.raises(CryptoPayUnavailable) as down:
            await _invoice(client)
        invoice = await _invoice(client)
        broken = cryptopay.invoices[invoice.invoice_id]
        broken.amount = "lots"  # type: ignore[assignment]  # an entry the client skips, logged
        assert await client.get_invoices([invoice.invoice_id]) == []
    finally:
        await client.close()
    assert caplog.records
    assert cryptopay.token not in caplog.text + str(down.value) + repr(client)


async def test_an_answer_that_arrives_in_many_pieces_is_read_whole(
    client: CryptoPayClient, cryptopay: CryptoPaySimulator
) -> None:
    # Hundreds of open invoices: getInvoices answers far more than one network read carries.
    made = [await _invoice(client, str(n)) for n in range(400)]
    found = await client.get_invoices(i.invoice_id for i in made)
    assert {i.invoice_id for i in found} == {i.invoice_id for i in made}
