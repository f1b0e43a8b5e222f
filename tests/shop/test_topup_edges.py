"""Top-ups at their edges, end to end through the fake Bot API and the Crypto Pay simulator:
a pre-checkout while the payer's other update hangs on the panel, expired Crypto Pay invoices
and their buttons, typed amounts that are not amounts, a refund made outside the bot, and a
restart between the invoice and the payment. The ledger's audit is clean after each."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.keyboards.callbacks import TopupPick
from bot.sandbox.chats import ChatMessage
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.sandbox.payments import Charge
from bot.sandbox.simulator import PanelSimulator
from bot.storage.topups import TopupStatus
from tests.bot.harness import ADMIN, ALICE, BOB, Harness, running
from tests.fakes.telegram import FakeTelegram
from tests.panel.hostile import HostilePanel, serving
from tests.shop.test_topup_journeys import (
    SHOP,
    balance,
    credited_once,
    crypto_invoice,
    invoice,
    pay,
    sound,
    webhooked,
)

CATALOGUE = json.dumps(
    [{"service": 1, "name": "Followers", "type": "Default", "category": "Instagram",
      "rate": "0.9", "min": 10, "max": 1000}]
)  # fmt: skip


# --- a pre-checkout never waits behind the payer's slow update -------------------------------


@contextlib.asynccontextmanager
async def waiting_on_the_panel(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> AsyncIterator[tuple[Harness, HostilePanel, ChatMessage]]:
    """A shop whose catalogue hangs: Alice has an invoice, and her /new waits on the panel
    (every later update of hers queues behind it) until the test releases it."""
    async with serving() as panel:
        panel.answer("services", CATALOGUE)
        hanging = {
            **SHOP,
            "panel_url": panel.url,
            "panel_timeout_seconds": 30,
            "panel_interactive_deadline_seconds": 30,
            "catalog_ttl_seconds": 0,
        }
        async with running(tmp_path, sim, tg, **hanging) as h:
            sent = await invoice(h)
            panel.hang("services")
            h.tg.send_text(ALICE, "/new")
            await asyncio.wait_for(panel.hung.wait(), 10)
            yield h, panel, sent


async def test_a_pre_checkout_is_answered_while_the_payers_other_update_hangs(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with waiting_on_the_panel(tmp_path, sim, tg) as (h, panel, sent):
        # Alice's catalogue waits on the panel, and her payment's pre-checkout is answered
        # meanwhile, not after it.
        checkout = await h.tg.payments.pay(ALICE, sent.message_id)
        assert checkout.ok, checkout
        assert panel.hung.is_set() and not any("Instagram" in t for t in h.texts(ALICE))
        panel.release()
        await h.settle()
        # The payment's message came after /new and was handled after it, once.
        await credited_once(h, 1000, "10.00 USD was added")


# --- Crypto Pay: expired invoices, typed amounts -----------------------------------------------


def crypto(cryptopay: CryptoPaySimulator, poll_seconds: float = 3600) -> dict[str, Any]:
    """Stars and Crypto Pay; by default the worker's poll never comes in a test's time."""
    return {
        **SHOP,
        "cryptopay_token": cryptopay.token,
        "cryptopay_api_url": cryptopay.url,
        "cryptopay_poll_seconds": poll_seconds,
    }


@contextlib.asynccontextmanager
async def crypto_shop(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, poll_seconds: float = 3600
) -> AsyncIterator[tuple[CryptoPaySimulator, Harness]]:
    async with (
        CryptoPaySimulator() as cryptopay,
        running(tmp_path, sim, tg, **crypto(cryptopay, poll_seconds)) as h,
    ):
        yield cryptopay, h


async def ask_crypto_amount(h: Harness) -> ChatMessage:
    """Alice's /topup by Crypto Pay, at "Other amount": the question for a typed amount."""
    await h.say(ALICE, "/topup")
    await h.press(ALICE, "💎 Crypto (Crypto Pay)")
    return await h.press(ALICE, "Other amount")


async def status(h: Harness, cryptopay: CryptoPaySimulator, invoice_id: int) -> TopupStatus:
    assert h.app is not None and h.app.services.topups is not None
    topup_id = int(cryptopay.invoices[invoice_id].payload)
    topup = await h.app.services.topups.own(topup_id, ALICE)
    assert topup is not None
    return topup.status


RU_EXPIRED = "Срок этого счёта истёк. Начните новое пополнение: /topup."


async def test_an_expired_crypto_invoices_button_says_so_in_the_persons_language(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with crypto_shop(tmp_path, sim, tg) as (cryptopay, h):
        assert "Как вы хотите" in (await h.say(ALICE, "/topup", language="ru")).text
        await h.press(ALICE, "💎 Криптовалюта (Crypto Pay)", language="ru")
        sent = h.last(ALICE)
        sent = await h.press(ALICE, sent.buttons[0]["text"], language="ru")
        (invoice_id,) = cryptopay.invoices
        cryptopay.expire(invoice_id)  # Crypto Pay's time for it ran out
        # Crypto Pay takes no payment for an expired invoice: the Pay button leads nowhere.
        with pytest.raises(ValueError, match="expired"):
            await cryptopay.pay(invoice_id)
        check = h.button_data(ALICE, "Я оплатил", message=sent)
        pressed = h.tap(ALICE, "Я оплатил", message=sent)
        await h.settle()
        assert h.answer_of(pressed) == RU_EXPIRED
        assert await status(h, cryptopay, invoice_id) is TopupStatus.EXPIRED
        assert h.last(ALICE).buttons == []  # the invoice's buttons went
        # The old button, pressed again from a client that still shows it: the same answer.
        again = h.forge_press(ALICE, check, message=sent)
        await h.settle()
        assert h.answer_of(again) == RU_EXPIRED
        assert not any("Что-то пошло не так" in t for t in h.texts(ALICE)), h.texts(ALICE)
        assert await balance(h) == 0 and not any("USD" in t and "+" in t for t in h.texts(ALICE))
        await sound(h)


async def test_the_worker_marks_an_expired_invoice_and_its_button_then_says_so(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with crypto_shop(tmp_path, sim, tg, poll_seconds=0.05) as (cryptopay, h):
        sent, invoice_id = await crypto_invoice(h, cryptopay)
        # A second invoice, still open, keeps the worker asking Crypto Pay.
        await h.say(ALICE, "/topup")
        await h.press(ALICE, "💎 Crypto (Crypto Pay)")
        await h.press(ALICE, "10.00 USD")
        cryptopay.expire(invoice_id)
        # A poll that began after the expiry has ended: the next one has begun.
        seen = cryptopay.calls.count("getInvoices")
        await h.tg.wait_for(lambda: cryptopay.calls.count("getInvoices") >= seen + 2, 10)
        assert await status(h, cryptopay, invoice_id) is TopupStatus.EXPIRED
        pressed = h.tap(ALICE, "I have paid", message=sent)
        await h.settle()
        assert h.answer_of(pressed) == "This invoice has expired. Start a new top-up with /topup."
        assert await balance(h) == 0
        await sound(h)


NOT_AN_AMOUNT = "That is not an amount from 1.00 USD to 1,000.00 USD."


async def test_a_typed_crypto_amount_refuses_what_is_no_amount_and_stays_in_the_question(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with crypto_shop(tmp_path, sim, tg) as (cryptopay, h):
        asked = await ask_crypto_amount(h)
        assert "Send the amount, from 1.00 USD to 1,000.00 USD." in asked.text
        for typed in ["0", "-5", "ten", "1000.01", "99999999999999999999999", "1e9", "12.345",
                      "NaN", "Infinity", "12.3.4", "9" * 4000, "<b>5</b>"]:  # fmt: skip
            told = await h.say(ALICE, typed)
            assert told.text.startswith(NOT_AN_AMOUNT), (typed, told.text)
        assert cryptopay.invoices == {}
        sent = await h.say(ALICE, "12,34")
        (made,) = cryptopay.invoices.values()
        assert made.amount == Decimal("12.34") and made.fiat == "USD"
        assert "Pay 12.34 USD" in [b["text"] for b in sent.buttons]
        await cryptopay.pay(made.invoice_id, notify=False)
        await h.press(ALICE, "I have paid", message=sent)
        await h.tg.wait_for(lambda: "12.34 USD was added" in h.last(ALICE).text, 10)
        assert await balance(h) == 1234
        await sound(h)


async def test_i_have_paid_pressed_twice_credits_once_and_never_says_something_went_wrong(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with crypto_shop(tmp_path, sim, tg) as (cryptopay, h):
        sent, invoice_id = await crypto_invoice(h, cryptopay)
        await cryptopay.pay(invoice_id, notify=False)
        # Alice paid in the app and taps "I have paid" twice before the buttons go.
        first = h.tap(ALICE, "I have paid", message=sent)
        second = h.tap(ALICE, "I have paid", message=sent)
        await h.settle()
        assert h.answer_of(first) == h.answer_of(second) == ""  # both answered, quietly
        assert sum("5.00 USD was added" in t for t in h.texts(ALICE)) == 1
        assert not any("went wrong" in t for t in h.texts(ALICE)), h.texts(ALICE)
        shown = h.tg.message(ALICE, sent.message_id)
        assert shown is not None and shown.buttons == []
        assert await balance(h) == 500
        await sound(h)


# --- a banned payer -----------------------------------------------------------------------------


async def test_a_person_banned_after_their_invoice_cannot_pay_it_and_loses_no_stars(
    shop: Harness,
) -> None:
    sent = await invoice(shop)
    await shop.say(ADMIN, f"/ban {ALICE}")
    # A banned person is sold nothing: the pre-checkout is refused, so Telegram takes no Stars.
    refused = await pay(shop, sent)
    assert not refused.ok and refused.error_message == "Sorry, this bot no longer serves you."
    assert shop.tg.payments.charges == {} and await balance(shop) == 0
    await shop.say(ADMIN, f"/unban {ALICE}")
    assert (await pay(shop, sent)).ok and await balance(shop) == 1000
    await sound(shop)


async def test_an_admin_on_the_ban_list_is_still_served_and_may_pay(shop: Harness) -> None:
    await shop.say(ADMIN, f"/ban {ADMIN}")
    assert "Banned: yes" in (await shop.say(ADMIN, f"/user {ADMIN}")).text
    sent = await invoice(shop, ADMIN)
    assert (await pay(shop, sent, ADMIN)).ok
    assert await balance(shop, ADMIN) == 1000
    assert "no longer serves you" not in "\n".join(shop.texts(ADMIN))
    await sound(shop)


async def test_a_payment_that_arrives_after_the_payers_ban_is_still_credited(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with waiting_on_the_panel(tmp_path, sim, tg) as (h, panel, sent):
        checkout = await h.tg.payments.pay(ALICE, sent.message_id)
        assert checkout.ok  # Telegram has taken her Stars, its message queued behind /new…
        h.tg.send_text(ADMIN, f"/ban {ALICE}")  # …when an admin bans her.
        await h.tg.wait_for(lambda: any("Banned" in t for t in h.texts(ADMIN)), 10)
        panel.release()
        await h.settle()
        # The Stars she paid are in her wallet.
        await credited_once(h, 1000, "10.00 USD was added")


async def test_stars_refunded_by_telegram_after_a_ban_are_still_taken_back(shop: Harness) -> None:
    sent = await invoice(shop)
    checkout = await pay(shop, sent)
    assert checkout.charge is not None and await balance(shop) == 1000
    await shop.say(ADMIN, f"/ban {ALICE}")
    shop.tg.payments.refund_outside(checkout.charge.charge_id)  # Telegram support gave them back
    await shop.settle()
    assert await balance(shop) == 0
    await sound(shop)


# --- Telegram's bound on one Stars invoice ---------------------------------------------------


async def test_a_stars_amount_beyond_what_one_invoice_holds_is_refused_with_the_real_bound(
    shop: Harness,
) -> None:
    # 50 Stars to the dollar and at most 10,000 Stars an invoice: 200.00 USD, below
    # TOPUP_MAX_AMOUNT's 1,000.00 USD.
    await shop.say(ALICE, "/topup")
    asked = await shop.press(ALICE, "Other amount")
    assert "Send the amount, from 1.00 USD to 200.00 USD." in asked.text
    told = await shop.say(ALICE, "500")
    assert told.text.startswith("That is not an amount from 1.00 USD to 200.00 USD."), told.text
    # A forged button for 900.00 USD is told the same, and no invoice is made.
    forged = shop.forge_press(ALICE, TopupPick(provider="stars", minor=90_000).pack())
    await shop.settle()
    assert shop.answer_of(forged).startswith("That is not an amount from 1.00 USD to 200.00 USD.")
    assert shop.tg.payments.invoices == {}
    sent = await shop.say(ALICE, "200")
    (terms,) = shop.tg.payments.invoices.values()
    assert terms.total_amount == 10_000
    assert (await pay(shop, sent)).ok and await balance(shop) == 20_000
    await sound(shop)


async def test_the_stars_amount_buttons_stop_at_what_one_invoice_holds(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    # 1,000 Stars to the dollar: one invoice holds 10.00 USD at most.
    async with running(tmp_path, sim, tg, **{**SHOP, "stars_per_unit": Decimal(1000)}) as h:
        offer = await h.say(ALICE, "/topup")
        assert [b["text"] for b in offer.buttons] == ["5.00 USD", "10.00 USD", "Other amount"]
        asked = await h.press(ALICE, "Other amount")
        assert "Send the amount, from 1.00 USD to 10.00 USD." in asked.text
        assert (await pay(h, await h.say(ALICE, "10"))).ok and await balance(h) == 1000
        await sound(h)


async def test_an_amount_typed_for_crypto_pay_switched_off_meanwhile_offers_what_is_on(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with crypto_shop(tmp_path, sim, tg) as (cryptopay, h):
        await ask_crypto_amount(h)
        # The operator switches Crypto Pay off and restarts; Alice types her amount.
        await h.restart_with(cryptopay_token=None, cryptopay_api_url=None)
        offer = await h.say(ALICE, "12")
        assert "went wrong" not in offer.text
        assert offer.text == "How much would you like to add to your wallet?"
        assert cryptopay.invoices == {} and h.tg.payments.invoices == {}
        assert (await pay(h, await h.press(ALICE, "5.00 USD", message=offer))).ok
        assert await balance(h) == 500
        await sound(h)


# --- Stars refunded outside the bot ------------------------------------------------------------


async def paid_stars(h: Harness) -> str:
    checkout = await pay(h, await invoice(h))
    assert checkout.ok and checkout.charge is not None
    assert await balance(h) == 1000
    return checkout.charge.charge_id


def alerts(h: Harness) -> list[str]:
    return [t for t in h.texts(ADMIN) if "outside the bot" in t]


@pytest.mark.parametrize(
    ("spent", "taken_back", "left", "lost"),
    [("", "10.00 USD", 0, "0.00 USD"),  # all of it still in the wallet
     ("4", "6.00 USD", 0, "4.00 USD"),  # part of it spent on an order, say
     ("10", "0.00 USD", 0, "10.00 USD")],  # all of it spent
)  # fmt: skip
async def test_stars_refunded_by_telegram_take_back_what_the_wallet_holds_and_tell_the_admins(
    shop: Harness, spent: str, taken_back: str, left: int, lost: str
) -> None:
    charge_id = await paid_stars(shop)
    if spent:
        assert (await shop.say(ADMIN, f"/debit {ALICE} {spent} order")).text.startswith("Took")
    shop.tg.payments.refund_outside(charge_id)  # Telegram's support gave the Stars back
    await shop.settle()
    await shop.tg.wait_for(lambda: len(alerts(shop)) == 1, 10)
    (alert,) = alerts(shop)
    assert f"{taken_back} was taken back" in alert and f"{lost} had been spent" in alert
    assert charge_id in alert and str(ALICE) in alert
    assert await balance(shop) == left
    # The same update again: nothing more taken, nobody told twice, nothing ever credited.
    shop.tg.payments.announce_refund(charge_id)
    await shop.settle()
    assert await balance(shop) == left and len(alerts(shop)) == 1
    assert sum("was added" in t for t in shop.texts(ALICE)) == 1  # the payment's receipt
    # The admins' own refund of it is refused: it is refunded already.
    told = await shop.say(ADMIN, f"/refund_stars {charge_id}")
    assert "refunded already" in told.text and await balance(shop) == left
    await sound(shop)


async def test_a_refunded_payment_for_a_charge_we_never_saw_changes_nothing(shop: Harness) -> None:
    await shop.say(ALICE, "/start")
    stranger = Charge("stxnotours", ALICE, "999", "XTR", 500, refunded=True)
    shop.tg.payments.charges[stranger.charge_id] = stranger
    shop.tg.payments.announce_refund(stranger.charge_id)
    await shop.settle()
    assert await balance(shop) == 0 and alerts(shop) == []
    await sound(shop)


# --- a restart between the invoice and the payment ---------------------------------------------


async def test_a_stars_invoice_sent_before_a_restart_is_paid_and_credited_once_after_it(
    shop: Harness,
) -> None:
    sent = await invoice(shop)
    await shop.restart()  # a new process, the same database
    checkout = await pay(shop, sent)
    assert checkout.ok and checkout.charge is not None
    assert "10.00 USD was added to your wallet" in shop.last(ALICE).text
    await shop.restart()
    shop.tg.payments.replay(checkout.charge.charge_id)  # redelivered to the next process
    await shop.settle()
    assert "already in your wallet" in shop.last(ALICE).text
    assert await balance(shop) == 1000
    await sound(shop)


async def test_a_crypto_invoice_made_before_a_restart_is_credited_once_by_the_new_worker(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with CryptoPaySimulator() as cryptopay:
        h = Harness(tmp_path, sim, tg, **crypto(cryptopay, poll_seconds=0.05))
        await h.start()
        try:
            sent, invoice_id = await crypto_invoice(h, cryptopay)
            await h.stop()
            await cryptopay.pay(invoice_id, notify=False)  # paid while no bot runs
            await h.start()
            await h.tg.wait_for(lambda: "5.00 USD was added" in h.last(ALICE).text, 10)
            await h.press(ALICE, "I have paid", message=sent)
            await credited_once(h, 500)
        finally:
            await h.stop()


async def test_a_crypto_invoice_made_before_a_restart_is_credited_once_by_the_webhook(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with CryptoPaySimulator() as cryptopay, webhooked(tmp_path, sim, tg, cryptopay) as h:
        _, invoice_id = await crypto_invoice(h, cryptopay)
        await h.restart()
        await cryptopay.pay(invoice_id)  # the webhook reaches the new process
        await h.tg.wait_for(lambda: "5.00 USD was added" in h.last(ALICE).text, 10)
        assert [d.status for d in cryptopay.deliveries] == [200]
        await h.restart()
        assert await cryptopay.deliver(invoice_id) == 200  # redelivered: nothing more
        await credited_once(h, 500)


async def test_i_have_paid_asks_crypto_pay_about_that_invoice_alone_and_a_forged_one_asks_nothing(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with crypto_shop(tmp_path, sim, tg) as (cryptopay, h):
        sent, alices = await crypto_invoice(h, cryptopay)
        await h.say(BOB, "/topup")
        await h.press(BOB, "💎 Crypto (Crypto Pay)")
        bobs_invoice = await h.press(BOB, "10.00 USD")
        (bobs,) = set(cryptopay.invoices) - {alices}
        check = h.button_data(ALICE, "I have paid", message=sent)
        bobs_check = h.button_data(BOB, "I have paid", message=bobs_invoice)

        cryptopay.calls.invoices_asked.clear()
        pressed = h.tap(ALICE, "I have paid", message=sent)
        await h.settle()
        assert h.answer_of(pressed).startswith("Not paid yet.")
        assert cryptopay.calls.invoices_asked == [frozenset({alices})]  # not Bob's

        # Bob forges Alice's button onto his own invoice message: Crypto Pay is not asked.
        cryptopay.calls.invoices_asked.clear()
        h.forge_press(BOB, check, message=bobs_invoice)
        await h.settle()
        assert cryptopay.calls.invoices_asked == []
        await cryptopay.pay(alices)
        await cryptopay.pay(bobs)
        # (the forged press took the buttons off Bob's own message: his client still shows it)
        h.forge_press(BOB, bobs_check, message=bobs_invoice)
        await h.settle()
        assert cryptopay.calls.invoices_asked == [frozenset({bobs})]
        assert await balance(h, BOB) == 1000 and await balance(h) == 0  # Alice's: the worker's
        await sound(h)
