"""Who may use the bot, their language, and the commands every person has."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.keyboards.callbacks import OrdersPage, StartOrder
from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ADMIN, ALICE, BOB, STRANGER, Harness, running
from tests.fakes.telegram import FakeTelegram

GERMAN_PO = r"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Language: de\n"

msgid "Choose your language:"
msgstr "Wähle deine Sprache:"

msgid "Language: English"
msgstr "Sprache: Deutsch"

msgid "Nothing to cancel."
msgstr "Nichts abzubrechen."

msgid "Cancelled."
msgstr "Abgebrochen."

msgid "Help"
msgstr "Hilfe"
"""


# --- shared-key mode: the allow-list --------------------------------------------------------


async def test_stranger_gets_one_refusal_with_their_id_and_nothing_else(harness: Harness) -> None:
    h = harness
    h.sim.reset_requests()
    reply = await h.say(STRANGER, "/start")
    assert f"Your Telegram ID is {STRANGER}" in reply.text
    # Once an hour, whatever they send (see tests/bot/test_floods.py).
    for text in ("/balance", "/new", "hello"):
        await h.say(STRANGER, text)
    sent = h.tg.sent_messages(STRANGER)
    assert len(sent) == 1
    assert sent[0].get("reply_markup") is None
    assert h.sim.request_count() == 0
    # Nothing about a stranger is kept: the refusal comes before the person's row is made.
    assert h.app is not None
    assert await h.app.services.users.get(STRANGER) is None


async def test_a_strangers_flood_gets_no_flood_of_refusals(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    settings = {"throttle_updates_per_second": 0.01, "throttle_burst": 3}
    async with running(tmp_path, sim, tg, **settings) as h:
        for number in range(10):
            h.tg.send_text(STRANGER, f"/start {number}")
        await h.settle()
        assert len(h.tg.sent_messages(STRANGER)) == 1
        assert (await h.say(ALICE, "/balance")).text == "Balance: 100 USD"  # others served
        assert h.sim.request_count("balance") == 1


async def test_stranger_is_refused_in_their_language(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    po = tmp_path / "locales" / "de" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        GERMAN_PO
        + '\nmsgid ""\n"Sorry, this bot serves only the people its operator has allowed. "\n'
        '"Your Telegram ID is <code>{id}</code>: send it to the operator to be added."\n'
        'msgstr "Leider nicht. Deine Telegram-ID ist <code>{id}</code>."\n',
        encoding="utf-8",
    )
    h = Harness(tmp_path, sim, tg, locales_dir=tmp_path / "locales")
    await h.start()
    try:
        reply = await h.say(STRANGER, "/start", language="de")
        assert reply.text == f"Leider nicht. Deine Telegram-ID ist {STRANGER}."
    finally:
        await h.stop()


async def test_stranger_press_is_answered_with_the_refusal_only(harness: Harness) -> None:
    h = harness
    await h.say(ALICE, "/start")
    alice_screen = h.last(ALICE)
    h.sim.reset_requests()
    sent_before = len(h.tg.calls_of("sendMessage"))
    answers = []
    for data in (StartOrder(service=4).pack(), OrdersPage(page=0).pack()):
        # A stranger's client claims to press a button of a bot message.
        query = h.forge_press(STRANGER, data, message=alice_screen)
        await h.settle()
        answers.append(h.tg.callback_answers[query])
    assert answers[0].get("text") == (
        f"This bot serves only people its operator allowed. Your ID: {STRANGER}"
    )
    assert answers[0].get("show_alert") is True
    assert not answers[1].get("text")  # refused once an hour; the button's spinner still stops
    assert len(h.tg.calls_of("sendMessage")) == sent_before
    assert not h.tg.calls_of("editMessageText")
    assert h.sim.request_count() == 0


async def test_allowed_people_and_the_admin_are_served(harness: Harness) -> None:
    for user in (ALICE, BOB, ADMIN):
        reply = await harness.say(user, "/balance")
        assert "Balance: 100" in reply.text
        assert "Telegram ID" not in reply.text


async def test_own_key_mode_serves_anyone(own_key_harness: Harness) -> None:
    reply = await own_key_harness.say(STRANGER, "/start")
    assert "Hello" in reply.text
    assert "/connect" in reply.text


async def test_nothing_to_connect_in_shared_key_mode(harness: Harness) -> None:
    h = harness
    h.sim.reset_requests()
    # A key pasted all the same is deleted: it may be the person's own, and secret.
    message_id = h.tg.send_text(ALICE, "/connect some-key-value")
    await h.settle()
    assert "nothing to connect" in h.last(ALICE).text
    assert h.tg.message(ALICE, message_id).deleted  # type: ignore[union-attr]
    assert "nothing to connect" in (await h.say(ALICE, "/connect")).text
    assert "nothing to connect" in (await h.say(ALICE, "/disconnect")).text
    # /connect asked no question: the next message is not taken for a key.
    message_id = h.tg.send_text(ALICE, "some-key-value")
    await h.settle()
    assert not h.tg.message(ALICE, message_id).deleted  # type: ignore[union-attr]
    assert h.sim.request_count() == 0
    assert "/connect" not in (await h.say(ALICE, "/help")).text


# --- /start, /help and /cancel ----------------------------------------------------------------


async def test_start_greets_by_name_even_with_html_characters(harness: Harness) -> None:
    h = harness
    h.tg.send_text(ALICE, "/start", first_name="Tom & <Jerry>")
    await h.settle()
    assert h.last(ALICE).text.startswith("Hello, Tom & <Jerry>!")


async def test_help_lists_the_commands(harness: Harness) -> None:
    reply = await harness.say(ALICE, "/help")
    for command in ("/new", "/search", "/orders", "/balance", "/language", "/cancel"):
        assert command in reply.text
    assert "keyboard" in harness.tg.sent_messages(ALICE)[-1]["reply_markup"]


async def test_cancel_leaves_the_order_wizard(harness: Harness) -> None:
    h = harness
    await h.say(ALICE, "/search 4")
    await h.press(ALICE, "Package — 1K")
    reply = await h.press(ALICE, "Order")
    assert "Send the link" in reply.text
    assert (await h.say(ALICE, "/cancel")).text == "Cancelled."
    # The link is not taken as an answer any more.
    h.tg.send_text(ALICE, "https://instagram.com/alice")
    await h.settle()
    assert "check your order" not in "\n".join(h.texts(ALICE))
    assert (await h.say(ALICE, "/cancel")).text == "Nothing to cancel."


async def test_a_button_no_handler_knows_is_answered(harness: Harness) -> None:
    h = harness
    await h.say(ALICE, "/start")
    h.sim.reset_requests()
    query = h.forge_press(ALICE, "zz:from-an-old-version")
    await h.settle()
    assert "/start" in h.answer_of(query)
    assert h.sim.request_count() == 0


async def test_text_nobody_asked_for_gets_a_pointer(harness: Harness) -> None:
    h = harness
    h.sim.reset_requests()
    for text in ("hello", "/nosuchcommand"):
        reply = await h.say(ALICE, text)
        assert reply.text == "I did not understand that. Use the menu below, or send /help."
        assert "keyboard" in h.tg.sent_messages(ALICE)[-1]["reply_markup"]  # the main menu

    await h.start_order(ALICE, 2)
    reply = await h.say(ALICE, "/nosuchcommand")  # not taken for the link
    assert reply.text == (
        "I did not understand that. Use the buttons above, or send /cancel to stop."
    )
    reply = await h.say(ALICE, "https://instagram.com/p/abc")
    assert "How many?" in reply.text  # the link question stayed, and took the link


async def test_text_before_connecting_gets_a_pointer(own_key_harness: Harness) -> None:
    reply = await own_key_harness.say(ALICE, "hello")
    assert reply.text == "I did not understand that. Use the menu below, or send /help."
    assert own_key_harness.sim.request_count() == 0


async def test_cancel_leaves_the_connect_question(own_key_harness: Harness) -> None:
    h = own_key_harness
    await h.say(ALICE, "/connect")
    assert (await h.say(ALICE, "/cancel")).text == "Cancelled."
    h.sim.reset_requests()
    h.tg.send_text(ALICE, "some-text-without-spaces")
    await h.settle()
    assert h.sim.request_count() == 0


# --- languages --------------------------------------------------------------------------------


@pytest.fixture
async def german(tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram) -> AsyncIterator[Harness]:
    """The bot with an English source and a tiny German catalogue."""
    po = tmp_path / "locales" / "de" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(GERMAN_PO, encoding="utf-8")
    h = Harness(tmp_path, sim, tg, locales_dir=tmp_path / "locales")
    await h.start()
    yield h
    await h.stop()


async def test_language_menu_offers_every_language(german: Harness) -> None:
    reply = await german.say(ALICE, "/language")
    assert reply.text == "Choose your language:"
    assert [b["text"] for b in reply.buttons] == ["✅ English", "Deutsch"]


async def test_only_english_without_catalogues(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path, sim, tg, locales_dir=tmp_path / "no-locales")
    await h.start()
    try:
        reply = await h.say(ALICE, "/language")
        assert [b["text"] for b in reply.buttons] == ["✅ English"]
    finally:
        await h.stop()
    # A misplaced catalogue folder is said at start, not discovered by a puzzled person.
    assert any("speaks English only" in r.getMessage() for r in caplog.records)


async def test_chosen_language_is_kept_across_a_restart(german: Harness) -> None:
    h = german
    await h.say(ALICE, "/language")
    reply = await h.press(ALICE, "Deutsch")
    assert "Sprache: Deutsch" in h.texts(ALICE)
    assert reply.text  # the help follows, in the new language
    assert (await h.say(ALICE, "/cancel")).text == "Nichts abzubrechen."
    await h.restart()
    assert (await h.say(ALICE, "/cancel")).text == "Nichts abzubrechen."
    assert "✅ Deutsch" in [b["text"] for b in (await h.say(ALICE, "/language")).buttons]
    # Back to English, from the German menu.
    await h.press(ALICE, "English")
    assert "Language: English" in h.texts(ALICE)
    assert (await h.say(ALICE, "/cancel")).text == "Nothing to cancel."
    # Bob was never asked: still English.
    assert (await h.say(BOB, "/cancel")).text == "Nothing to cancel."


async def test_first_contact_takes_telegrams_language(german: Harness) -> None:
    h = german
    assert (await h.say(ALICE, "/cancel", language="de-AT")).text == "Nichts abzubrechen."
    # Once known, the language stays even if Telegram's changes: the person chose it in the bot.
    assert (await h.say(ALICE, "/cancel", language="en")).text == "Nichts abzubrechen."
    assert (await h.say(BOB, "/cancel", language="fr")).text == "Nothing to cancel."
    assert (await h.say(ADMIN, "/cancel", language="")).text == "Nothing to cancel."


async def test_default_language_for_unknown_telegram_languages(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    po = tmp_path / "locales" / "de" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(GERMAN_PO, encoding="utf-8")
    h = Harness(tmp_path, sim, tg, locales_dir=tmp_path / "locales", default_language="de")
    await h.start()
    try:
        assert (await h.say(ALICE, "/cancel", language="fr")).text == "Nichts abzubrechen."
        assert (await h.say(BOB, "/cancel", language="en")).text == "Nothing to cancel."
        assert {"command": "help", "description": "Hilfe"} in tg.commands()
        assert {"command": "help", "description": "Help"} in tg.commands(language_code="en")
    finally:
        await h.stop()


async def test_commands_are_set_for_every_language(german: Harness) -> None:
    tg = german.tg
    default = tg.commands()
    names = [c["command"] for c in default]
    assert names[:2] == ["start", "new"]
    assert {"orders", "order", "balance", "language", "help", "cancel"} <= set(names)
    # Shared-key mode: there is no key of one's own to connect.
    assert not {"connect", "disconnect"} & set(names)
    assert tg.commands(language_code="en") == default
    german_commands = tg.commands(language_code="de")
    assert [c["command"] for c in german_commands] == names
    assert {"command": "help", "description": "Hilfe"} in german_commands
    assert {"command": "help", "description": "Help"} in default


async def test_own_key_mode_commands_offer_connect(own_key_harness: Harness) -> None:
    names = [c["command"] for c in own_key_harness.tg.commands()]
    assert {"connect", "disconnect", "new", "help"} <= set(names)
    assert own_key_harness.tg.commands(language_code="en") == own_key_harness.tg.commands()
