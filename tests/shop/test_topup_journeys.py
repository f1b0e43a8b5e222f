"""Top-ups end to end: the real Dispatcher, database and wallet against the fake Bot API's
payments (STARS_PER_UNIT=50: 10.00 USD is 500 Stars) and the Crypto Pay simulator. The
ledger's audit (`python -m bot ledger-check`) is clean after each."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bot.sandbox.chats import ChatMessage
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.sandbox.payments import Checkout
from bot.sandbox.simulator import PanelSimulator
from bot.services.ledger import check
from tests.bot.harness import ADMIN, ALICE, BOB, SHOP, Harness, running
from tests.fakes.telegram import FakeTelegram


async def balance(h: Harness, user: int = ALICE) -> int:
    assert h.app is not None and h.app.services.shop is not None
    return await h.app.services.shop.balance(user)


async def sound(h: Harness) -> None:
    assert h.app is not None and h.app.services.wallets is not None
    assert await check(h.app.services.wallets) == []


async def credited_once(h: Harness, minor: int, receipt: str = "was added") -> None:
    """Alice's wallet holds `minor`, she had one receipt, and the ledger is sound."""
    assert await balance(h) == minor
    assert sum(receipt in t for t in h.texts(ALICE)) == 1
    await sound(h)


@contextlib.asynccontextmanager
async def webhooked(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, cryptopay: CryptoPaySimulator
) -> AsyncIterator[Harness]:
    """A shop in webhook mode that Crypto Pay's webhook reaches (its poll never comes)."""
    h = Harness(
        tmp_path,
        sim,
        tg,
        runner="webhook",
        **SHOP,
        cryptopay_token=cryptopay.token,
        cryptopay_api_url=cryptopay.url,
        cryptopay_webhook_path="/cryptopay",
        cryptopay_poll_seconds=3600,  # the webhook, not the poll, must credit
    )
    await h.start()
    try:
        cryptopay.webhook_url = f"http://127.0.0.1:{h.overrides['webhook_port']}/cryptopay"
        yield h
    finally:
        await h.stop()


async def invoice(h: Harness, user: int = ALICE, label: str = "10.00 USD") -> ChatMessage:
    offer = await h.say(user, "/topup")
    assert "How much" in offer.text, offer.text
    return await h.press(user, label)


async def pay(h: Harness, message: ChatMessage, user: int = ALICE) -> Checkout:
    """The person presses Pay: the pre-checkout query, then (if ok) the successful_payment."""
    checkout = await h.tg.payments.pay(user, message.message_id)
    await h.settle()
    return checkout


async def test_stars_top_up_credits_once_with_a_receipt(shop: Harness) -> None:
    sent = await invoice(shop)
    assert len(shop.tg.payments.invoices) == 1
    (terms,) = shop.tg.payments.invoices.values()
    assert terms.currency == "XTR" and terms.total_amount == 500
    checkout = await pay(shop, sent)
    assert checkout.ok and checkout.charge is not None
    receipt = shop.last(ALICE).text
    assert "10.00 USD was added to your wallet" in receipt and "Balance: 10.00 USD" in receipt
    assert await balance(shop) == 1000
    await sound(shop)

    # Telegram sends the same successful_payment again: nothing more is credited.
    shop.tg.payments.replay(checkout.charge.charge_id)
    await shop.settle()
    assert "already in your wallet. Balance: 10.00 USD" in shop.last(ALICE).text
    assert await balance(shop) == 1000
    await sound(shop)


async def test_the_shops_top_up_button_offers_the_amounts(shop: Harness) -> None:
    wallet = await shop.say(ALICE, "/balance")
    offer = await shop.press(ALICE, "💳 Top up", message=wallet)
    assert "How much" in offer.text
    sent = await shop.press(ALICE, "5.00 USD")
    assert (await pay(shop, sent)).ok
    assert await balance(shop) == 500
    await sound(shop)


async def test_a_typed_amount(shop: Harness) -> None:
    await shop.say(ALICE, "/topup")
    await shop.press(ALICE, "Other amount")
    # Above what one Stars invoice holds (10,000 Stars), below TOPUP_MAX_AMOUNT.
    assert "200.00 USD" in (await shop.say(ALICE, "5000")).text
    sent = await shop.say(ALICE, "12.34")
    assert (await pay(shop, sent)).ok
    assert await balance(shop) == 1234
    await sound(shop)


async def test_pre_checkout_of_an_unknown_top_up_is_refused(shop: Harness) -> None:
    await shop.say(ALICE, "/start")
    refused = await shop.tg.payments.checkout(ALICE, "999", "XTR", 500)
    await shop.settle()
    assert not refused.ok and refused.error_message
    assert "no longer valid" in refused.error_message
    assert shop.tg.payments.charges == {} and await balance(shop) == 0
    await sound(shop)


async def test_pre_checkout_of_a_paid_top_up_is_refused(shop: Harness) -> None:
    sent = await invoice(shop)
    assert (await pay(shop, sent)).ok
    again = await pay(shop, sent)
    assert not again.ok and again.error_message == "This invoice has been paid already."
    assert len(shop.tg.payments.charges) == 1 and await balance(shop) == 1000
    await sound(shop)


async def test_someone_elses_invoice_is_refused(shop: Harness) -> None:
    sent = await invoice(shop)
    (terms,) = shop.tg.payments.invoices.values()
    forged = await shop.tg.payments.checkout(BOB, terms.payload, "XTR", terms.total_amount)
    await shop.settle()
    assert not forged.ok and forged.error_message == "This invoice was made for someone else."
    assert (await pay(shop, sent)).ok and await balance(shop, BOB) == 0
    await sound(shop)


async def test_without_stars_the_button_says_ask_an_admin(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with running(tmp_path, sim, tg, **{**SHOP, "stars_per_unit": None}) as h:
        assert "not available here" in (await h.say(ALICE, "/topup")).text
        wallet = await h.say(ALICE, "/balance")
        told = await h.press(ALICE, "💳 Top up", message=wallet)
        assert "write to the shop's admin" in told.text
        assert h.tg.payments.invoices == {}


async def test_a_flooding_payer_is_still_credited(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    # Two updates, then one every ~17 minutes: /topup and the amount's press use them up.
    slow = {**SHOP, "throttle_burst": 2, "throttle_updates_per_second": 0.001}
    async with running(tmp_path, sim, tg, **slow) as h:
        sent = await invoice(h)
        dropped = h.tg.send_text(ALICE, "/balance")
        assert (await pay(h, sent)).ok
        assert "10.00 USD was added to your wallet" in h.last(ALICE).text
        assert not any("Your wallet" in t for t in h.texts(ALICE)), dropped
        assert await balance(h) == 1000
        await sound(h)


async def paid_charge(h: Harness) -> str:
    checkout = await pay(h, await invoice(h))
    assert checkout.charge is not None
    return checkout.charge.charge_id


async def test_an_admin_refunds_stars_still_in_the_wallet_once(shop: Harness) -> None:
    charge_id = await paid_charge(shop)
    done = await shop.say(ADMIN, f"/refund_stars {charge_id}")
    assert done.text.startswith(f"Refunded {charge_id}: 10.00 USD taken"), done.text
    assert shop.tg.payments.charges[charge_id].refunded and await balance(shop) == 0
    again = await shop.say(ADMIN, f"/refund_stars {charge_id}")
    assert "refunded already" in again.text
    # Telegram's refunded_payment message afterwards credits nothing.
    shop.tg.payments.announce_refund(charge_id)
    await shop.settle()
    assert await balance(shop) == 0
    await sound(shop)


async def test_spent_stars_are_not_refunded(shop: Harness) -> None:
    charge_id = await paid_charge(shop)
    assert (await shop.say(ADMIN, f"/debit {ALICE} 1 fee")).text.startswith("Took")
    told = await shop.say(ADMIN, f"/refund_stars {charge_id}")
    assert told.text.startswith("Not refunded"), told.text
    assert not shop.tg.payments.charges[charge_id].refunded and await balance(shop) == 900
    await sound(shop)


async def test_refund_stars_usage_unknown_charges_and_people_who_are_no_admins(
    shop: Harness,
) -> None:
    assert "Usage: /refund_stars" in (await shop.say(ADMIN, "/refund_stars")).text
    unknown = await shop.say(ADMIN, "/refund_stars <b>nope</b>")
    # Escaped: shown as typed, not as bold.
    assert unknown.text == "No Stars payment has the charge ID <b>nope</b>."
    charge_id = await paid_charge(shop)
    await shop.say(ALICE, f"/refund_stars {charge_id}")
    assert not shop.tg.payments.charges[charge_id].refunded and await balance(shop) == 1000
    await sound(shop)


async def test_the_command_menu_offers_topup_in_every_language(shop: Harness) -> None:
    menus = shop.tg.menu_commands()
    assert set(menus) >= {None, "en", "ru", "ja"}
    assert all("topup" in commands for commands in menus.values())


async def crypto_invoice(h: Harness, cryptopay: CryptoPaySimulator) -> tuple[ChatMessage, int]:
    assert "How would you like" in (await h.say(ALICE, "/topup")).text
    await h.press(ALICE, "💎 Crypto (Crypto Pay)")
    sent = await h.press(ALICE, "5.00 USD")
    (invoice_id,) = cryptopay.invoices
    return sent, invoice_id


async def test_crypto_pay_webhook_in_webhook_mode_credits_once(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with CryptoPaySimulator() as cryptopay, webhooked(tmp_path, sim, tg, cryptopay) as h:
        _, invoice_id = await crypto_invoice(h, cryptopay)
        await cryptopay.pay(invoice_id)
        await h.tg.wait_for(lambda: "5.00 USD was added" in h.last(ALICE).text, 10)
        await cryptopay.deliver(invoice_id)  # Crypto Pay sends it again
        await credited_once(h, 500)


async def test_crypto_pay_invoice_found_paid_by_the_worker_credits_once(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with CryptoPaySimulator() as cryptopay:
        both = {
            **SHOP,
            "cryptopay_token": cryptopay.token,
            "cryptopay_api_url": cryptopay.url,
            "cryptopay_poll_seconds": 0.05,
        }
        async with running(tmp_path, sim, tg, **both) as h:
            sent, invoice_id = await crypto_invoice(h, cryptopay)
            assert "Pay 5.00 USD" in [b["text"] for b in sent.buttons]
            not_yet = h.tap(ALICE, "I have paid", message=sent)
            await h.settle()
            assert "Not paid yet" in h.answer_of(not_yet)
            await cryptopay.pay(invoice_id, notify=False)
            await h.tg.wait_for(lambda: "5.00 USD was added" in h.last(ALICE).text, 10)
            assert await balance(h) == 500
            await h.press(ALICE, "I have paid", message=sent)  # paid: the buttons go
            await h.settle()
            await credited_once(h, 500)
