"""The bot walked in Russian and Japanese: greeting, the order wizard, and a notification."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.bot.harness import ALICE, BOB, Harness

LINK = "https://instagram.com/p/abc"
SERVICE = 2  # Default type, 100..50,000, 1.45 per 1000


@dataclass(frozen=True)
class Expected:
    greeting: str
    order_button: str
    quantity_question: str
    not_a_number: str
    confirmation: list[str]
    confirm_button: str
    placed: str
    notification: list[str]
    card_button: str


EXPECTED = {
    "ru": Expected(
        greeting="Здравствуйте, Test! Я помогу вам оформлять заказы на SMM-панели.",
        order_button="🛒 Заказать",
        quantity_question="Какое количество? Отправьте число от 100 до 50\u00a0000.",
        not_a_number="❗ Отправьте целое число, только цифры.",
        confirmation=[
            "Проверьте заказ",
            f"Ссылка: {LINK}",
            "Количество: 1\u00a0500",
            "Цена: 2,175 USD",
            "Ваш баланс: 100 USD",
        ],
        confirm_button="✅ Подтвердить",
        placed="✅ Заказ #1000 оформлен. Я сообщу, когда его статус изменится.",
        notification=[
            "🔔 Заказ #1000",
            "Статус: 🌓 Частично выполнен",
            "Осталось: 25",
            "Списано: 2,175 USD",
        ],
        card_button="📄 Карточка заказа",
    ),
    "ja": Expected(
        greeting="こんにちは、Testさん！SMMパネルへの注文をお手伝いします。",
        order_button="🛒 注文する",
        quantity_question="数量を100～50,000の数値で送信してください。",
        not_a_number="❗ 整数を数字のみで送信してください。",
        confirmation=[
            "注文内容をご確認ください",
            f"リンク：{LINK}",
            "数量：1,500",
            "価格：2.175 USD",
            "残高：100 USD",
        ],
        confirm_button="✅ 注文を確定",
        placed="✅ 注文 #1000を発注しました。ステータスが変わったらお知らせします。",
        notification=[
            "🔔 注文 #1000",
            "ステータス：🌓 一部完了",
            "残り：25",
            "請求額：2.175 USD",
        ],
        card_button="📄 注文詳細",
    ),
}


@pytest.mark.parametrize("language", sorted(EXPECTED))
async def test_start_wizard_and_notification(harness: Harness, language: str) -> None:
    expected = EXPECTED[language]
    # Telegram's language_code on first contact decides; later updates say "en" and change
    # nothing: the language is kept.
    greeting = await harness.say(ALICE, "/start", language=language)
    assert greeting.text.splitlines()[0] == expected.greeting

    await harness.say(ALICE, f"/search {SERVICE}")
    await harness.press(ALICE, f"#{SERVICE} ")
    await harness.press(ALICE, expected.order_button)
    await harness.say(ALICE, LINK)
    assert harness.last(ALICE).text.endswith(expected.quantity_question)
    refused = await harness.say(ALICE, "1e3")
    assert refused.text.startswith(expected.not_a_number)
    confirmation = await harness.say(ALICE, "1500")
    lines = confirmation.text.splitlines()
    for line in expected.confirmation:
        assert line in lines, (line, lines)

    placed = await harness.press(ALICE, expected.confirm_button)
    assert placed.text == expected.placed

    harness.sim.set_order(1000, status="Partial", remains=25)
    await harness.tg.wait_for(lambda: harness.last(ALICE).text.startswith("🔔"), 10)
    notification = harness.last(ALICE).text.splitlines()
    for line in expected.notification:
        assert line in notification, (line, notification)
    [card_button] = harness.last(ALICE).buttons
    assert card_button["text"] == expected.card_button


async def test_language_is_changed_with_the_buttons_and_kept(harness: Harness) -> None:
    menu = await harness.say(BOB, "/language")
    assert menu.text == "Choose your language:"
    assert [b["text"] for b in menu.buttons] == ["✅ English", "日本語", "Русский"]

    help_text = await harness.press(BOB, "Русский")
    assert harness.tg.message(BOB, menu.message_id).text == "Язык: русский"  # the menu, edited
    assert help_text.text.startswith("Что я умею")
    assert (await harness.say(BOB, "/cancel")).text == "Нечего отменять."

    await harness.restart()
    assert (await harness.say(BOB, "/cancel", language="ja")).text == "Нечего отменять."


NOTHING_TO_CANCEL = {
    "en": "Nothing to cancel.",
    "ru": "Нечего отменять.",
    "ja": "中止する操作はありません。",
}


async def test_newcomers_at_once_each_keep_their_language_and_their_choice(
    harness: Harness,
) -> None:
    crowd = {300 + n: ("ru", "ja", "en")[n % 3] for n in range(30)}
    await harness.restart_with(allowed_user_ids=frozenset(crowd))
    for person, language in crowd.items():
        harness.tg.send_text(person, "/cancel", language_code=language)
    chooser = 300
    harness.tg.send_text(chooser, "/language", language_code="ru")  # before the first is answered
    await harness.settle()
    for person, language in crowd.items():
        assert harness.texts(person)[0] == NOTHING_TO_CANCEL[language]
    await harness.press(chooser, "日本語", language="ru")

    await harness.restart()  # right after their first contact
    for person in crowd:
        harness.tg.send_text(person, "/cancel", language_code="en")
    await harness.settle()
    for person, language in crowd.items():
        expected = "ja" if person == chooser else language
        assert harness.texts(person)[-1] == NOTHING_TO_CANCEL[expected]
