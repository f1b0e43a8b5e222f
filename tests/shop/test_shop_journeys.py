"""The shop end to end: the real Dispatcher, database and panel client against the fake Bot API
and the panel simulator. Service 2 costs the panel 1.45 per 1000; with the default 30 % markup
a customer pays 1.885 per 1000, so 100 cost 0.1885, charged 0.19 USD (rounded up)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.sandbox.chats import ChatMessage
from bot.sandbox.simulator import PanelSimulator
from bot.services.ledger import audit, charge_key, refund_key
from bot.storage.ledger import EntryKind
from tests.bot.harness import ADMIN, ALICE, BOB, PANEL_ANSWER_TIMEOUT, SHARED_KEY, Harness, running
from tests.fakes.telegram import FakeTelegram

LINK = "https://instagram.com/p/abc"
COMBO = 2  # Default, 1.45 per 1000, min 100, no cancel, no drip-feed
CANCELABLE = 5  # Default, cancel allowed
PACKAGE = 4  # one package at its rate, no quantity


@pytest.fixture
async def shop(tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram) -> AsyncIterator[Harness]:
    # Nobody is listed: in a shop anyone may buy.
    async with running(tmp_path, sim, tg, mode="shop", allowed_user_ids=frozenset()) as h:
        yield h


def services(h: Harness):
    assert h.app is not None
    return h.app.services


async def credit(h: Harness, user: int, amount: str) -> None:
    await h.say(user, "/start")  # the person exists
    reply = await h.say(ADMIN, f"/credit {user} {amount} welcome gift")
    assert reply.text.startswith("Added"), reply.text


async def confirmation(h: Harness, service: int = COMBO, quantity: str = "100") -> ChatMessage:
    await h.start_order(ALICE, service)
    reply = await h.say(ALICE, LINK)
    if "Please check your order" not in reply.text:
        reply = await h.say(ALICE, quantity)
    if "Drip-feed" in reply.text:
        reply = await h.press(ALICE, "⏭ Skip")
    assert "Please check your order" in reply.text, reply.text
    return reply


async def balance(h: Harness, user: int = ALICE) -> int:
    return await services(h).shop.balance(user)


async def sound(h: Harness) -> None:
    wallets = services(h).wallets
    assert audit(await wallets.wallets(), await wallets.all_entries()) == []


async def test_a_customer_buys_with_enough_in_the_wallet(shop: Harness) -> None:
    await credit(shop, ALICE, "1")
    told = shop.last(ALICE)
    assert "1.00 USD was added to your wallet: welcome gift" in told.text
    screen = await confirmation(shop)
    assert "Price: 0.19 USD" in screen.text
    assert "Your wallet: 1.00 USD" in screen.text
    assert "1.45" not in screen.text  # never the panel's rate
    placed = await shop.press(ALICE, "Confirm")
    assert placed.text.startswith("✅ Placed"), placed.text
    assert len(shop.sim.orders) == 1
    assert await balance(shop) == 81
    assert "Your wallet: 0.81 USD" in (await shop.say(ALICE, "/balance")).text
    await sound(shop)


async def test_help_speaks_of_the_wallet(shop: Harness) -> None:
    assert "/balance: your wallet" in (await shop.say(ALICE, "/help")).text


async def test_the_catalogue_shows_the_customers_price(shop: Harness) -> None:
    card = await shop.open_service(ALICE, COMBO)
    assert "1.885" in card.text and "1.45" not in card.text


async def test_not_enough_in_the_wallet_orders_and_charges_nothing(shop: Harness) -> None:
    await credit(shop, ALICE, "0.10")
    screen = await confirmation(shop)
    assert "short of the price" in screen.text
    reply = await shop.press(ALICE, "Confirm")
    assert "0.09 USD more is needed" in reply.text, reply.text
    assert "Nothing was ordered or charged" in reply.text
    assert shop.sim.request_count("add") == 0
    assert await balance(shop) == 10
    help_text = await shop.press(ALICE, "💳 Top up")
    assert str(ALICE) in help_text.text
    await sound(shop)


async def test_a_double_confirm_charges_once(shop: Harness) -> None:
    await credit(shop, ALICE, "1")
    await confirmation(shop)
    shop.tap(ALICE, "Confirm")
    shop.tap(ALICE, "Confirm")
    await shop.settle()
    assert len(shop.sim.orders) == 1
    assert await balance(shop) == 81
    await sound(shop)


async def test_the_panel_refuses_and_the_charge_goes_back(shop: Harness) -> None:
    await credit(shop, ALICE, "1")
    await confirmation(shop)
    shop.sim.fail_next("error", action="add", message="Incorrect link")
    reply = await shop.press(ALICE, "Confirm")
    assert "did not accept" in reply.text
    assert "0.19 USD went back to your wallet. Balance: 1.00 USD." in reply.text
    assert await balance(shop) == 100
    await sound(shop)


async def test_a_panel_that_never_got_the_order_refunds_at_once(shop: Harness) -> None:
    await credit(shop, ALICE, "1")
    await confirmation(shop)
    shop.sim.fail_next("http_429", action="add")  # refused before doing anything
    reply = await shop.press(ALICE, "Confirm")
    assert "went back to your wallet" in reply.text, reply.text
    assert await balance(shop) == 100


async def lost_answer(shop: Harness) -> int:
    """An order the panel took while its answer was lost: the charge stays, admins are told."""
    await credit(shop, ALICE, "1")
    await confirmation(shop)
    shop.sim.fail_next("hang_after", action="add")
    reply = await shop.press(ALICE, "Confirm")
    assert "may have been placed" in reply.text
    assert await balance(shop) == 81
    return next(iter(shop.sim.orders))


async def test_an_unknown_outcome_settled_as_placed_keeps_the_charge(shop: Harness) -> None:
    panel_id = await lost_answer(shop)
    await shop.say(ADMIN, f"/resolve 1 {panel_id}")
    assert "was placed" in shop.last(ALICE).text
    assert await balance(shop) == 81
    await sound(shop)


async def test_an_unknown_outcome_settled_as_none_refunds(shop: Harness) -> None:
    await lost_answer(shop)
    await shop.say(ADMIN, "/resolve 1 none")
    told = shop.last(ALICE).text
    assert "was not placed" in told
    assert "0.19 USD went back to your wallet. Balance: 1.00 USD." in told
    assert await balance(shop) == 100
    await sound(shop)


async def wait_for_text(h: Harness, user: int, text: str) -> ChatMessage:
    await h.tg.wait_for(lambda: any(text in t for t in h.texts(user)), PANEL_ANSWER_TIMEOUT)
    return next(m for m in reversed(h.tg.transcript(user)) if text in m.text)


async def test_a_partial_order_refunds_what_was_not_delivered_once(shop: Harness) -> None:
    await credit(shop, ALICE, "5")
    await confirmation(shop, quantity="1000")  # 1.885 → 1.89
    await shop.press(ALICE, "Confirm")
    assert await balance(shop) == 311
    shop.sim.set_order(1000, status="Partial", remains=333)
    told = await wait_for_text(shop, ALICE, "went back to your wallet")
    # 189 × 333 / 1000 = 62.937: 0.62 back, rounded down.
    assert "0.62 USD went back to your wallet. Balance: 3.73 USD." in told.text
    assert "Charge:" not in told.text  # never the panel's charge
    await shop.restart()
    await shop.say(ALICE, "/balance")
    assert await balance(shop) == 373
    entries = await services(shop).wallets.all_entries()
    assert [e.key for e in entries if e.kind is EntryKind.ORDER_REFUND] == [refund_key(1)]
    await sound(shop)


async def test_a_canceled_order_refunds_in_full(shop: Harness) -> None:
    await credit(shop, ALICE, "5")
    await confirmation(shop, service=CANCELABLE)
    placed = await shop.press(ALICE, "Confirm")
    assert placed.text.startswith("✅ Placed")
    charged = await services(shop).wallets.by_key(charge_key(1))
    assert charged is not None
    shop.sim.set_order(1000, status="Canceled")
    told = await wait_for_text(shop, ALICE, "went back to your wallet")
    assert f"{Decimal(-charged.amount) / 100:.2f} USD went back" in told.text
    assert await balance(shop) == 500
    await sound(shop)


@pytest.mark.parametrize("status", ["Fail", "Error"])
async def test_a_failed_order_tells_the_admins_once_that_nothing_went_back(
    shop: Harness, status: str
) -> None:
    await credit(shop, ALICE, "5")
    await confirmation(shop)
    await shop.press(ALICE, "Confirm")
    assert await balance(shop) == 481
    shop.sim.set_order(1000, status=status)
    alert = await wait_for_text(shop, ADMIN, "nothing given back")
    assert "paid 0.19 USD" in alert.text
    assert "/refund 1" in alert.text
    assert "Panel order: 1000" in alert.text
    assert status in "\n".join(shop.texts(ALICE))  # the customer is told the status as ever
    assert await balance(shop) == 481  # the bot does not guess what the panel did
    # The command the alert gives works as written, and once whoever sends it.
    reply = await shop.say(ADMIN, "/refund 1")
    assert "Gave back 0.19 USD of order 1" in reply.text, reply.text
    assert "0.19 USD went back to your wallet. Balance: 5.00 USD." in shop.last(ALICE).text
    again = await shop.say(ADMIN, "/refund 1")
    assert "was refunded already: 0.19 USD" in again.text, again.text
    assert await balance(shop) == 500
    # Told once: not again after a restart, nor for an order that ends well.
    await shop.restart()
    await confirmation(shop)
    await shop.press(ALICE, "Confirm")
    shop.sim.set_order(1001, status="Completed")
    await wait_for_text(shop, ALICE, "Completed")
    assert len([t for t in shop.texts(ADMIN) if "nothing given back" in t]) == 1
    await sound(shop)


async def test_a_partial_package_with_no_share_to_work_out_tells_the_admins(
    shop: Harness,
) -> None:
    await credit(shop, ALICE, "50")
    await confirmation(shop, service=PACKAGE)
    await shop.press(ALICE, "Confirm")
    charged = await services(shop).wallets.by_key(charge_key(1))
    assert charged is not None
    # A package has no quantity: what share was not delivered cannot be worked out.
    shop.sim.set_order(1000, status="Partial")
    alert = await wait_for_text(shop, ADMIN, "nothing given back")
    assert f"paid {Decimal(-charged.amount) / 100:.2f} USD" in alert.text
    assert await balance(shop) == 5000 + charged.amount
    await sound(shop)


async def test_refund_by_hand_only_of_an_ended_paid_order(shop: Harness) -> None:
    await credit(shop, ALICE, "5")
    for words, answer in [
        ("/refund", "Usage: /refund LOCAL_ID"),
        ("/refund one", "Usage: /refund LOCAL_ID"),
        ("/refund 1 2", "Usage: /refund LOCAL_ID"),
        ("/refund 99999999999999999999999", "Usage: /refund LOCAL_ID"),
        ("/refund 7", "No order has local ID 7."),
    ]:
        assert (await shop.say(ADMIN, words)).text == answer
    await confirmation(shop)
    await shop.press(ALICE, "Confirm")
    # Still open: it refunds itself if it ends canceled.
    reply = await shop.say(ADMIN, "/refund 1")
    assert "has not ended on the panel" in reply.text
    # A customer is no admin: the command is not theirs.
    await shop.say(ALICE, "/refund 1")
    assert await balance(shop) == 481
    shop.sim.set_order(1000, status="Completed")
    await wait_for_text(shop, ALICE, "Completed")
    reply = await shop.say(ADMIN, "/refund 1")  # the admin's call: delivered, refunded anyway
    assert "Gave back 0.19 USD of order 1" in reply.text
    assert await balance(shop) == 500
    await sound(shop)


async def test_the_operators_panel_balance_too_low(shop: Harness) -> None:
    await credit(shop, ALICE, "5")
    shop.sim.set_balance(SHARED_KEY, Decimal("0.01"))
    await confirmation(shop)
    reply = await shop.press(ALICE, "Confirm")
    assert "briefly unavailable" in reply.text
    assert await balance(shop) == 500
    assert shop.sim.request_count("add") == 0
    alerts = [t for t in shop.texts(ADMIN) if "panel balance cannot pay" in t]
    assert len(alerts) == 1
    await confirmation(shop)
    await shop.press(ALICE, "Confirm")
    assert len([t for t in shop.texts(ADMIN) if "panel balance cannot pay" in t]) == 1
    await sound(shop)


async def test_the_panel_saying_not_enough_funds_refunds(shop: Harness) -> None:
    await credit(shop, ALICE, "5")
    await confirmation(shop)
    shop.sim.fail_next("error", action="add", message="Not enough funds on balance")
    reply = await shop.press(ALICE, "Confirm")
    assert "briefly unavailable" in reply.text
    assert "went back to your wallet" in reply.text
    assert await balance(shop) == 500
    assert any("panel balance cannot pay" in t for t in shop.texts(ADMIN))
    await sound(shop)


async def test_admins_credit_debit_and_read_a_wallet(shop: Harness) -> None:
    await credit(shop, BOB, "2.5")
    reply = await shop.say(ADMIN, f"/debit {BOB} 3 too much")
    assert "holds only 2.50 USD" in reply.text
    reply = await shop.say(ADMIN, f"/debit {BOB} 0.5 correction")
    assert "Balance: 2.00 USD" in reply.text
    assert "0.50 USD was taken from your wallet: correction" in shop.last(BOB).text
    wallet = await shop.say(ADMIN, f"/wallet {BOB}")
    assert (
        "correction" in wallet.text and "welcome gift" in wallet.text and str(ADMIN) in wallet.text
    )
    assert "Not an amount" in (await shop.say(ADMIN, f"/credit {BOB} 0.001 x")).text
    assert "never used the bot" in (await shop.say(ADMIN, "/credit 4242 1 x")).text
    assert "Usage" in (await shop.say(ADMIN, "/credit")).text
    # Bob's ID in Arabic-Indic digits, which int() reads, and a number no Telegram ID reaches.
    assert "Usage" in (await shop.say(ADMIN, "/credit \u0661\u0660\u0662 1 x")).text
    assert "Usage" in (await shop.say(ADMIN, "/wallet " + "9" * 30)).text
    assert "Usage" in (await shop.say(ADMIN, "/debit 0 1 x")).text
    # Not an admin: the command is not there.
    await shop.say(BOB, f"/credit {BOB} 100 free")
    assert await balance(shop, BOB) == 200
    await sound(shop)


async def test_markups_and_hiding(shop: Harness) -> None:
    reply = await shop.say(ADMIN, f"/markup service {COMBO} 100")
    assert f"Service #{COMBO}: 100%" in reply.text
    card = await shop.open_service(ALICE, COMBO)
    assert "2.9" in card.text  # 1.45 × 2
    await shop.say(ADMIN, f"/hide service {COMBO}")
    found = await shop.say(ALICE, f"/search {COMBO}")
    assert f"#{COMBO} " not in str(found.buttons)
    await shop.say(ADMIN, f"/unhide service {COMBO}")
    await shop.say(ADMIN, f"/markup service {COMBO} inherit")
    card = await shop.open_service(ALICE, COMBO)
    assert "1.885" in card.text
    # A category's markup beats the default; the default can be changed too.
    await shop.say(ADMIN, "/markup category Instagram Followers 0")
    assert "1.45" in (await shop.open_service(ALICE, COMBO)).text
    await shop.say(ADMIN, "/markup category Instagram Followers inherit")
    reply = await shop.say(ADMIN, "/markup default 10")
    assert "Default: 10%" in reply.text
    assert "1.595" in (await shop.open_service(ALICE, COMBO)).text
    await shop.say(ADMIN, "/hide category Instagram Followers")
    found = await shop.say(ALICE, f"/search {COMBO}")
    assert f"#{COMBO} " not in str(found.buttons)
    assert "Usage" in (await shop.say(ADMIN, "/markup service x 5")).text
    assert "Usage" in (await shop.say(ADMIN, "/markup default -5")).text
    assert "Usage" in (await shop.say(ADMIN, "/hide shelf 1")).text


async def test_stats(shop: Harness) -> None:
    await credit(shop, ALICE, "1")
    await confirmation(shop)
    await shop.press(ALICE, "Confirm")
    await shop.say(ADMIN, "/stats")
    money, chart, days = shop.tg.transcript(ADMIN)[-3:]
    # Sold 0.19; the panel's price 0.145 → 0.15 (rounded up): margin 0.04.
    assert "sales 0.19 USD · panel cost 0.15 USD · margin 0.04 USD" in money.text
    assert "Money in wallets: 0.81 USD" in money.text
    # Then the console's 30-day chart, as a picture, and the numbers a day.
    assert chart.media is not None and "Last 30 days" in chart.text
    assert "1 orders, 0.19" in days.text


async def test_ledger_check(shop: Harness, tmp_path: Path) -> None:
    await credit(shop, ALICE, "1")
    await shop.stop()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": shop.tg.token,
        "PANEL_URL": shop.sim.url,
        "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"),
    }

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "ledger-check"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    sound_run = check()
    assert sound_run.returncode == 0, sound_run.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as conn:
        conn.execute("UPDATE wallets SET balance = balance + 1 WHERE user_id = ?", (ALICE,))
    broken = check()
    assert broken.returncode == 1
    assert f"wallet {ALICE} balance: stored 101, entries sum to 100" in broken.stdout
