"""Referrals end to end: links, attribution at first contact only, commissions on Stars
top-ups (once per payment, in the top-up's transaction), the referrer told in their language,
/referral's figures and /user. The ledger's audit is clean after each money journey."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings
from bot.sandbox.simulator import PanelSimulator
from bot.services.ledger import check
from bot.services.referrals import code_from_start, commission
from bot.storage.ledger import EntryKind
from tests.bot.harness import ADMIN, ALICE, BOB, Harness, running
from tests.fakes.telegram import FakeTelegram
from tests.test_config import assert_one_line_naming, base_env, run_bot

CAROL = 103
SHOP = {
    "mode": "shop",
    "allowed_user_ids": frozenset(),
    "stars_per_unit": Decimal(50),
    "referral_percent": Decimal(10),
}
LINK = re.compile(r"https://t\.me/fake_test_bot\?start=(r[A-Za-z0-9_-]+)")


@pytest.fixture
def shop_settings() -> dict[str, Any]:
    return SHOP


async def link_of(h: Harness, user: int, language: str = "en") -> str:
    """The /start payload of the person's referral link, as /referral shows it."""
    found = LINK.search((await h.say(user, "/referral", language=language)).text)
    assert found is not None
    return found.group(1)


async def referrer_of(h: Harness, user: int) -> int | None:
    assert h.app is not None
    return await h.app.services.referrals.referrer_of(user)


async def balance(h: Harness, user: int) -> int:
    assert h.app is not None and h.app.services.shop is not None
    return await h.app.services.shop.balance(user)


async def commissions(h: Harness) -> list[int]:
    assert h.app is not None and h.app.services.wallets is not None
    entries = await h.app.services.wallets.all_entries()
    return [e.amount for e in entries if e.kind is EntryKind.REFERRAL_COMMISSION]


async def sound(h: Harness) -> None:
    assert h.app is not None and h.app.services.wallets is not None
    assert await check(h.app.services.wallets) == []


async def top_up(h: Harness, user: int, label: str = "10.00 USD") -> str:
    """The person tops up by Stars; the charge ID."""
    await h.say(user, "/topup")
    sent = await h.press(user, label)
    checkout = await h.tg.payments.pay(user, sent.message_id)
    await h.settle()
    assert checkout.ok and checkout.charge is not None
    return checkout.charge.charge_id


async def brought(h: Harness, referrer: int, newcomer: int, language: str = "en") -> None:
    payload = await link_of(h, referrer)
    welcome = await h.say(newcomer, f"/start {payload}", language=language)
    assert "Hello" in welcome.text or "こんにちは" in welcome.text or "Привет" in welcome.text
    assert await referrer_of(h, newcomer) == referrer


def told(h: Harness, user: int, words: str) -> int:
    return sum(1 for m in h.tg.transcript(user) if m.from_bot and words in m.text)


async def test_a_person_brought_by_a_link_is_the_referrers(shop: Harness) -> None:
    payload = await link_of(shop, BOB)
    assert payload == await link_of(shop, BOB)  # stable
    welcome = await shop.say(ALICE, f"/start {payload}")
    assert "Hello" in welcome.text
    assert await referrer_of(shop, ALICE) == BOB
    figures = (await shop.say(BOB, "/referral")).text
    assert "People you brought: 1" in figures and "Earned: 0.00 USD" in figures
    card = (await shop.say(ADMIN, f"/user {ALICE}")).text
    assert f"Referred by: {BOB}" in card and "People they brought: 0" in card
    card = (await shop.say(ADMIN, f"/user {BOB}")).text
    assert "Referred by: —" in card and "People they brought: 1" in card


async def test_a_start_naming_the_bot_brings_the_person_too(shop: Harness) -> None:
    # Typed by hand from a link's text: the command with the bot's name after it.
    payload = await link_of(shop, BOB)
    bot_name = shop.tg.bot_user["username"]
    welcome = await shop.say(ALICE, f"/start@{bot_name} {payload}")
    assert "Hello" in welcome.text
    assert await referrer_of(shop, ALICE) == BOB


async def test_nobody_refers_themselves(shop: Harness) -> None:
    payload = await link_of(shop, BOB)
    assert "Hello" in (await shop.say(BOB, f"/start {payload}")).text
    assert await referrer_of(shop, BOB) is None
    assert "People you brought: 0" in (await shop.say(BOB, "/referral")).text


async def test_a_known_or_attributed_person_is_never_attributed_again(shop: Harness) -> None:
    await brought(shop, BOB, ALICE)
    carols = await link_of(shop, CAROL)
    await shop.say(ALICE, f"/start {carols}")
    assert await referrer_of(shop, ALICE) == BOB
    # Someone who used the bot before the link stays nobody's.
    await shop.say(ADMIN, "/start")
    await shop.say(ADMIN, f"/start {carols}")
    assert await referrer_of(shop, ADMIN) is None
    assert "People you brought: 0" in (await shop.say(CAROL, "/referral")).text


@pytest.mark.parametrize(
    "payload",
    ["rnope0000000", "r", "x" + "a" * 12, "r" + "a" * 70, "<b>r1</b>", "r../etc", "r😀"],
)
async def test_an_unknown_or_malformed_code_gets_the_usual_welcome(
    shop: Harness, payload: str
) -> None:
    await link_of(shop, BOB)
    welcome = await shop.say(ALICE, f"/start {payload}")
    assert welcome.text.startswith("Hello"), welcome.text
    assert await referrer_of(shop, ALICE) is None


def test_codes_and_commissions() -> None:
    assert code_from_start("rAbc_-9") == "Abc_-9"
    assert code_from_start(None) is None and code_from_start("r") is None
    assert code_from_start("r" + "a" * 64) is None  # beyond a payload's 64 characters
    assert commission(1234, Decimal(10)) == 123  # rounded down in minor units
    assert commission(100, Decimal("0.5")) == 0
    assert commission(1, Decimal(100)) == 1


async def test_a_stars_top_up_pays_the_commission_once_and_tells_the_referrer_in_russian(
    shop: Harness,
) -> None:
    await shop.say(BOB, "/start", language="ru")
    await brought(shop, BOB, ALICE)
    charge_id = await top_up(shop, ALICE)
    assert await balance(shop, ALICE) == 1000 and await balance(shop, BOB) == 100
    words = "Приведённый вами человек пополнил кошелёк: на ваш зачислено 1,00 USD"
    await shop.tg.wait_for(lambda: told(shop, BOB, words) == 1)
    # Telegram delivers the successful_payment again: nothing more for anybody.
    shop.tg.payments.replay(charge_id)
    await shop.settle()
    assert await balance(shop, ALICE) == 1000 and await balance(shop, BOB) == 100
    assert await commissions(shop) == [100]
    await shop.tg.wait_idle()
    assert told(shop, BOB, words) == 1
    figures = (await shop.say(BOB, "/referral")).text
    assert "Вы привели людей: 1" in figures and "Заработано: 1,00 USD" in figures
    await sound(shop)


async def test_commissions_add_up_rounded_down(shop: Harness) -> None:
    await brought(shop, BOB, ALICE)
    await top_up(shop, ALICE)
    await shop.say(ALICE, "/topup")
    await shop.press(ALICE, "Other amount")
    sent = await shop.say(ALICE, "12.34")
    assert (await shop.tg.payments.pay(ALICE, sent.message_id)).ok
    await shop.settle()
    assert await commissions(shop) == [100, 123]
    assert "Earned: 2.23 USD" in (await shop.say(BOB, "/referral")).text
    await sound(shop)


async def test_an_admin_credit_pays_no_commission(shop: Harness) -> None:
    await brought(shop, BOB, ALICE)
    assert (await shop.say(ADMIN, f"/credit {ALICE} 50 gift")).text.startswith("Added")
    assert await commissions(shop) == [] and await balance(shop, BOB) == 0
    await sound(shop)


async def test_a_referrer_who_blocked_the_bot_is_still_credited(shop: Harness) -> None:
    await brought(shop, BOB, ALICE)
    shop.tg.stop_bot(BOB)
    await shop.settle()
    await top_up(shop, ALICE)
    assert await balance(shop, BOB) == 100
    await shop.tg.wait_idle()
    assert told(shop, BOB, "Someone you brought") == 0
    await sound(shop)


async def test_a_refund_of_stars_leaves_the_commission(shop: Harness) -> None:
    await brought(shop, BOB, ALICE)
    charge_id = await top_up(shop, ALICE)
    done = await shop.say(ADMIN, f"/refund_stars {charge_id}")
    assert done.text.startswith(f"Refunded {charge_id}"), done.text
    assert await balance(shop, ALICE) == 0 and await balance(shop, BOB) == 100
    assert await commissions(shop) == [100]
    await sound(shop)


async def test_percent_zero_writes_nothing(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with running(tmp_path, sim, tg, **{**SHOP, "referral_percent": Decimal(0)}) as h:
        await brought(h, BOB, ALICE)
        await top_up(h, ALICE)
        assert await balance(h, ALICE) == 1000 and await balance(h, BOB) == 0
        assert await commissions(h) == []
        assert "Earned: 0.00 USD" in (await h.say(BOB, "/referral")).text
        await sound(h)


async def test_outside_a_shop_referrals_attribute_without_money(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with running(tmp_path, sim, tg, allowed_user_ids=frozenset({ALICE, BOB})) as h:
        await brought(h, BOB, ALICE)
        figures = (await h.say(BOB, "/referral")).text
        assert "People you brought: 1" in figures and "Earned" not in figures


async def test_the_command_menu_offers_referral_in_every_language(shop: Harness) -> None:
    menus = shop.tg.menu_commands()
    assert set(menus) >= {None, "en", "ru", "ja"}
    assert all("referral" in commands for commands in menus.values())


@pytest.mark.parametrize("value", ["-1", "100.01", "NaN", "ten"])
def test_a_bad_referral_percent_stops_the_start_in_one_line(tmp_path: Path, value: str) -> None:
    env = base_env(tmp_path) | {"MODE": "shop", "REFERRAL_PERCENT": value}
    assert_one_line_naming(run_bot(tmp_path, env), "REFERRAL_PERCENT")


def test_referral_percent_is_a_decimal_up_to_100(tmp_path: Path) -> None:
    env = {k.lower(): v for k, v in base_env(tmp_path).items() if k != "PATH"}
    assert load_settings(**env).referral_percent == 0
    assert load_settings(**env, referral_percent="12.5").referral_percent == Decimal("12.5")
    assert load_settings(**env, referral_percent="100").referral_percent == 100
