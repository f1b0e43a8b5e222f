"""Top-ups in the page, as a visitor makes them: a Stars invoice paid with its Pay button, a
Crypto Pay invoice paid on the simulated Crypto Pay's page, then an order from that wallet."""

from __future__ import annotations

import json

import aiohttp
from playwright.async_api import Page, expect

from bot.payments.cryptopay import TOKEN_HEADER
from bot.sandbox.run import ADMIN_ID, Sandbox
from tests.sandbox_page.browser import screenshot
from tests.sandbox_page.test_escaping_in_browser import PWN, assert_nothing_injected
from tests.sandbox_page.test_order_in_browser import last_bot_message, press, say

EVIL_TITLE = f"<img src=x onerror={PWN}>"[:32]
EVIL_DESCRIPTION = f'<b>bold?</b><img src=x onerror="{PWN}"> &amp;'


async def test_a_stars_top_up_from_amount_to_receipt(page: Page, sandbox: Sandbox) -> None:
    await say(page, "/topup")
    await expect(page.locator(".keyboard").last).to_contain_text("Crypto Pay")
    await press(page, "Stars")
    await press(page, "5.00 USD")
    # The invoice as Telegram draws it: the bot's title and description, the price in Stars.
    invoice = page.locator(".msg.has-invoice").last
    await expect(invoice.locator(".invoice-title")).to_have_text("Wallet top-up")
    await expect(invoice.locator(".invoice-description")).to_contain_text("5.00 USD")
    await expect(invoice.locator(".invoice-price")).to_contain_text("⭐️250")
    await screenshot(page, "6-stars-invoice")
    await press(page, "Pay ⭐️250")
    await expect(page.locator(".service")).to_have_text(
        "You successfully transferred ⭐️250 to SMM Panel Bot"
    )
    receipt = page.locator(".msg", has_text="was added to your wallet")
    await expect(receipt).to_contain_text("Balance: 15.00 USD")
    await screenshot(page, "7-stars-receipt")
    assert len(sandbox.fake.payments.charges) == 1

    # Paying the same invoice again: the bot refuses at pre-checkout, shown as Telegram does.
    await press(page, "Pay ⭐️250")
    await expect(page.locator("#alert")).to_be_visible()
    await expect(page.locator("#alert-text")).to_contain_text("already")
    await screenshot(page, "8-stars-refused")
    await page.click("#alert-ok")
    assert len(sandbox.fake.payments.charges) == 1
    await expect(page.locator(".msg", has_text="was added to your wallet")).to_have_count(1)


async def test_a_crypto_pay_top_up_then_an_order_from_it(page: Page, sandbox: Sandbox) -> None:
    await say(page, "/topup")
    await press(page, "Crypto Pay")
    await press(page, "10.00 USD")
    await expect(last_bot_message(page)).to_contain_text("USDT, TON, BTC")
    async with page.context.expect_page() as opened:
        await press(page, "Pay 10.00 USD")
    pay_page = await opened.value
    await expect(pay_page.locator("body[data-ready]")).to_have_count(1)
    await expect(pay_page.locator("#amount")).to_have_text("10 USD")
    await screenshot(pay_page, "9-cryptopay-page")
    await pay_page.locator('#assets button[data-asset="TON"]').click()
    await expect(pay_page.locator("#outcome")).to_have_text("Paid in TON.")
    await expect(pay_page.locator("#assets button")).to_have_count(0)
    await pay_page.close()

    # The worker's poller finds it paid and the receipt comes to the chat.
    receipt = page.locator(".msg", has_text="was added to your wallet")
    await expect(receipt).to_contain_text("Balance: 20.00 USD")
    await screenshot(page, "10-cryptopay-receipt")

    # An order paid from that wallet.
    await say(page, "/new")
    await press(page, "Instagram Followers (")
    await press(page, "Instagram Followers [Max 10K]")
    await press(page, "Order")
    await say(page, "https://instagram.com/sandbox_demo")
    await say(page, "100")
    await press(page, "Skip")
    await expect(last_bot_message(page)).to_contain_text("Your wallet: 20.00 USD")
    await press(page, "Confirm")
    await expect(page.locator(".msg", has_text="Placed: Order #1000")).to_have_count(1)
    assert sandbox.cryptopay is not None
    assert [i.status for i in sandbox.cryptopay.invoices.values()] == ["paid"]


async def test_invoice_texts_from_the_bot_are_shown_as_text(page: Page, sandbox: Sandbox) -> None:
    """Titles and descriptions are the bot's (so anyone's): text on the chat and the pay page."""
    assert sandbox.cryptopay is not None
    async with aiohttp.ClientSession() as http:
        form = {
            "chat_id": str(ADMIN_ID),
            "title": EVIL_TITLE,
            "description": EVIL_DESCRIPTION,
            "payload": "not-ours",
            "currency": "XTR",
            "prices": json.dumps([{"label": "x", "amount": 7}]),
        }
        url = f"{sandbox.fake.base_url}/bot{sandbox.fake.token}/sendInvoice"
        async with http.post(url, data=form) as answer:
            assert (await answer.json())["ok"], await answer.text()
        async with http.post(
            f"{sandbox.cryptopay.url}/createInvoice",
            json={
                "currency_type": "fiat",
                "fiat": "USD",
                "amount": "3",
                "accepted_assets": "USDT",
                "description": EVIL_DESCRIPTION,
            },
            headers={TOKEN_HEADER: sandbox.cryptopay.token},
        ) as answer:
            pay_url = (await answer.json())["result"]["bot_invoice_url"]
    invoice = page.locator(".msg.has-invoice").last
    await expect(invoice.locator(".invoice-title")).to_have_text(EVIL_TITLE)
    await expect(invoice.locator(".invoice-description")).to_have_text(EVIL_DESCRIPTION)
    await assert_nothing_injected(page)

    # The bot refuses a payload of no top-up of its own: Telegram's alert says why.
    await press(page, "Pay ⭐️7")
    await expect(page.locator("#alert")).to_be_visible()
    await page.click("#alert-ok")

    pay_page = page  # the chat is done with: the same tab opens the pay page
    await pay_page.goto(pay_url)
    await expect(pay_page.locator("#description")).to_have_text(EVIL_DESCRIPTION)
    assert await pay_page.evaluate("document.querySelectorAll('img, b').length") == 0
    assert await pay_page.evaluate("document.body.dataset.pwned") is None
    # The pay page is served under the page's own rules.
    answer = await pay_page.request.get(pay_url)
    assert "script-src 'self'" in answer.headers["content-security-policy"]
