"""Telegram Stars in the fake Bot API, driven by a real aiogram Bot over HTTP: invoices, the
pre-checkout query and its answer, the payment's message, refunds and their announcement."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LabeledPrice, PreCheckoutQuery, Update

from bot.sandbox.payments import Checkout
from tests.fakes.telegram import FakeTelegram

ALICE = 101


async def invoice(bot: Bot, payload: str = "42", stars: int = 500) -> int:
    sent = await bot.send_invoice(
        ALICE,
        title="Wallet top-up",
        description="10.00 USD for your wallet",
        payload=payload,
        currency="XTR",
        prices=[LabeledPrice(label="Top-up", amount=stars)],
    )
    assert sent.invoice is not None
    assert (sent.invoice.currency, sent.invoice.total_amount) == ("XTR", stars)
    return sent.message_id


async def paying(
    fake: FakeTelegram, bot: Bot
) -> tuple[asyncio.Task[Checkout], Update, PreCheckoutQuery]:
    """Alice presses Pay on a new invoice: her payment waits for the query it sent."""
    fake.person(ALICE)
    message_id = await invoice(bot)
    task = asyncio.create_task(fake.payments.pay(ALICE, message_id))
    update = await next_update(bot)
    assert update.pre_checkout_query is not None
    return task, update, update.pre_checkout_query


async def next_update(bot: Bot, offset: int = 0) -> Update:
    [update] = await bot.get_updates(offset=offset, timeout=5)
    return update


async def test_a_payment_answered_ok(fake: FakeTelegram, bot: Bot) -> None:
    task, query, pre = await paying(fake, bot)
    assert pre.from_user.id == ALICE
    assert (pre.invoice_payload, pre.currency, pre.total_amount) == ("42", "XTR", 500)
    assert await bot.answer_pre_checkout_query(pre.id, ok=True)
    checkout = await task
    assert checkout.ok and checkout.charge is not None
    paid = await next_update(bot, query.update_id + 1)
    assert paid.message is not None and paid.message.successful_payment is not None
    payment = paid.message.successful_payment
    assert payment.telegram_payment_charge_id == checkout.charge.charge_id
    assert (payment.invoice_payload, payment.total_amount) == ("42", 500)
    # The same payment's update, delivered again.
    fake.payments.replay(checkout.charge.charge_id)
    again = await next_update(bot, paid.update_id + 1)
    assert again.message is not None and again.message.successful_payment == payment


async def test_a_refused_pre_checkout_charges_nothing(fake: FakeTelegram, bot: Bot) -> None:
    task, query, pre = await paying(fake, bot)
    with pytest.raises(TelegramBadRequest):
        await bot.answer_pre_checkout_query(pre.id, ok=False)
    await bot.answer_pre_checkout_query(pre.id, ok=False, error_message="Already paid")
    checkout = await task
    assert not checkout.ok and checkout.error_message == "Already paid"
    assert fake.payments.charges == {}
    assert await bot.get_updates(offset=query.update_id + 1, timeout=0) == []


async def test_an_unanswered_pre_checkout_fails(fake: FakeTelegram, bot: Bot) -> None:
    fake.person(ALICE)
    fake.payments.answer_timeout = 0.05
    message_id = await invoice(bot)
    checkout = await fake.payments.pay(ALICE, message_id)
    assert not checkout.ok and checkout.error_message is None and fake.payments.charges == {}
    [query] = await bot.get_updates(timeout=0)
    assert query.pre_checkout_query is not None
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_pre_checkout_query(query.pre_checkout_query.id, ok=True)


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"currency": "USD"}, "CURRENCY_INVALID"),
        ({"provider_token": "284685063:TEST"}, "PROVIDER_TOKEN_INVALID"),
        (
            {"prices": [LabeledPrice(label="a", amount=1), LabeledPrice(label="b", amount=1)]},
            "STARS",
        ),
        ({"prices": [LabeledPrice(label="a", amount=0)]}, "STARS"),
        ({"payload": "x" * 129}, "INVOICE_PAYLOAD_INVALID"),
        ({"payload": ""}, "INVOICE_PAYLOAD_INVALID"),
        ({"title": "t" * 33}, "INVOICE_TITLE_INVALID"),
    ],
)
async def test_only_stars_invoices_are_accepted(
    fake: FakeTelegram, bot: Bot, change: dict[str, object], refusal: str
) -> None:
    fake.person(ALICE)
    params: dict[str, object] = {
        "title": "Wallet top-up",
        "description": "d",
        "payload": "42",
        "currency": "XTR",
        "prices": [LabeledPrice(label="Top-up", amount=5)],
        **change,
    }
    with pytest.raises(TelegramBadRequest, match=refusal):
        await bot.send_invoice(ALICE, **params)  # type: ignore[arg-type]


async def test_a_numeric_payload_stays_text(fake: FakeTelegram, bot: Bot) -> None:
    fake.person(ALICE)
    message_id = await invoice(bot, payload="007")
    assert fake.payments.invoices[(ALICE, message_id)].payload == "007"


async def test_refunds(fake: FakeTelegram, bot: Bot) -> None:
    task, query, pre = await paying(fake, bot)
    await bot.answer_pre_checkout_query(pre.id, ok=True)
    charge = (await task).charge
    assert charge is not None
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await bot.refund_star_payment(ALICE, "no-such-charge")
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await bot.refund_star_payment(ALICE + 1, charge.charge_id)
    assert await bot.refund_star_payment(ALICE, charge.charge_id)
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(ALICE, charge.charge_id)
    fake.payments.announce_refund(charge.charge_id)
    updates = await bot.get_updates(offset=query.update_id + 1, timeout=0)
    refunded = updates[-1].message
    assert refunded is not None and refunded.refunded_payment is not None
    assert refunded.refunded_payment.telegram_payment_charge_id == charge.charge_id
