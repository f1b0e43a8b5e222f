"""A whole order in the page, as a visitor makes it: the chat on one side, the panel beside."""

from __future__ import annotations

from playwright.async_api import Page, expect

from bot.sandbox.run import Sandbox
from tests.sandbox_page.browser import screenshot


async def say(page: Page, text: str) -> None:
    await page.fill("#input", text)
    await page.press("#input", "Enter")


async def press(page: Page, label: str) -> None:
    """Press the inline button labelled `label` on the newest bot message that has it."""
    await page.locator(".keyboard button", has_text=label).last.click()


def last_bot_message(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".msg:not(.mine)").last


async def test_an_order_from_catalogue_to_completed_notification(
    page: Page, sandbox: Sandbox
) -> None:
    await say(page, "/new")
    await expect(last_bot_message(page)).to_contain_text("Choose a category")
    await press(page, "Instagram Followers (")
    await expect(last_bot_message(page)).to_contain_text("Choose a service")
    await press(page, "Instagram Followers [Max 10K]")
    await expect(last_bot_message(page)).to_contain_text("Price per 1000")
    await screenshot(page, "1-service-card")
    await press(page, "Order")
    await expect(last_bot_message(page)).to_contain_text("Send the link")
    await say(page, "https://instagram.com/sandbox_demo")
    await expect(last_bot_message(page)).to_contain_text("How many?")
    await say(page, "100")
    await expect(last_bot_message(page)).to_contain_text("Drip-feed")
    await press(page, "Skip")
    # A shop: the panel's 0.09 with the default 30% markup, rounded up; paid from the wallet.
    await expect(last_bot_message(page)).to_contain_text("Price: 0.12 USD")
    await expect(last_bot_message(page)).to_contain_text("Your wallet: 10.00 USD")
    await screenshot(page, "2-confirm")
    await press(page, "Confirm")
    await expect(page.locator(".msg", has_text="Placed: Order #1000")).to_have_count(1)

    # The panel's side shows the order as the panel has it, and moves it.
    order = page.locator('#orders .card[data-order="1000"]')
    await expect(order.locator(".status")).to_have_text("Pending")
    await expect(page.locator("#balances .amount")).to_have_text("$99.91")
    await order.get_by_role("button", name="In progress").click()
    await expect(order.locator(".status")).to_have_text("In progress")
    await order.get_by_role("button", name="Completed").click()
    await expect(order.locator(".status")).to_have_text("Completed")
    assert sandbox.sim.orders[1000].status == "Completed"

    notification = page.locator(".msg", has_text="Order #1000").filter(has_text="Completed")
    await expect(notification).to_have_count(1)
    await screenshot(page, "3-completed-notification")

    # A button left on an old step of the finished order: the bot's alert, as Telegram shows it.
    prompt = await page.locator(".msg", has_text="How many?").get_attribute("data-id")
    await page.locator(f'.keyboard[data-message="{prompt}"] button', has_text="Back").click()
    await expect(page.locator("#alert")).to_be_visible()
    await expect(page.locator("#alert-text")).to_have_text("This order form has expired.")
    await screenshot(page, "4-alert")
    await page.click("#alert-ok")
    await expect(page.locator("#alert")).to_be_hidden()


async def test_a_partial_refund_reaches_the_balance_and_the_chat(
    page: Page, sandbox: Sandbox
) -> None:
    """Another person, in Russian, through the reply keyboard; the operator ends it Partial."""
    await page.locator('#people-list li[data-person="1002"]').click()
    await say(page, "/start")
    await page.locator("#reply-keyboard button").first.click()  # 🛒 New order, in Russian
    await expect(last_bot_message(page)).to_contain_text("(59")  # a shop sells no subscriptions
    await press(page, "Instagram Followers (")
    await press(page, "Instagram Followers [Max 10K]")
    await page.locator(".keyboard button", has_text="🛒").last.click()
    await say(page, "https://instagram.com/sandbox_demo")
    await say(page, "1000")
    await page.locator(".keyboard button", has_text="⏭").last.click()
    await page.locator(".keyboard button", has_text="✅").last.click()
    await expect(page.locator(".msg", has_text="#1000")).not_to_have_count(0)
    await expect(page.locator("#balances .amount")).to_have_text("$99.1")

    order = page.locator('#orders .card[data-order="1000"]')
    await order.locator("input").fill("400")
    await order.get_by_role("button", name="Partial").click()
    await expect(order.locator(".status")).to_have_text("Partial")
    await expect(page.locator("#balances .amount")).to_have_text("$99.46")
    notification = page.locator(".msg", has_text="#1000").filter(has_text="Частично выполнен")
    await expect(notification).to_have_count(1)
    # The undelivered 400 of 1,000 went back to the wallet: 1.17 × 0.4, rounded down.
    await expect(notification).to_contain_text("0,46 USD")
    await expect(notification).to_contain_text("9,29 USD")
    await screenshot(page, "5-partial-in-russian")
