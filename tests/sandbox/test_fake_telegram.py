import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router, html
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from tests.fakes.telegram import FakeTelegram

USER = 42


def keyboard(*data: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=f"Button {d}", callback_data=d) for d in data]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


@contextlib.asynccontextmanager
async def polling(dispatcher: Dispatcher, bot: Bot, fake: FakeTelegram) -> AsyncIterator[None]:
    task = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    await fake.wait_for_call("getMe")  # polling has started once it asked who it is
    try:
        yield
    finally:
        await dispatcher.stop_polling()
        await task


def echo_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        assert message.from_user is not None
        name = html.quote(message.from_user.first_name)
        await message.answer(f"Hello, <b>{name}</b>!", reply_markup=keyboard("ping", "other"))

    @router.callback_query(F.data == "ping")
    async def ping(callback: CallbackQuery) -> None:
        await callback.answer("pong")
        assert isinstance(callback.message, Message)
        await callback.message.edit_text(f"pinged from {callback.message.text}")

    return router


async def test_get_me_parses_into_the_bot_user(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == bot.id
    assert me.is_bot
    assert me.username == fake.bot_user["username"]


async def test_unknown_token_gets_401_and_is_not_recorded(fake: FakeTelegram) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    stranger = Bot("987654321:not-the-token", session=session)
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await stranger.get_me()
    finally:
        await session.close()
    assert fake.calls == []


async def test_send_message_round_trip(fake: FakeTelegram, bot: Bot) -> None:
    first = await bot.send_message(7, "<b>Price</b> &lt; 5 42", reply_markup=keyboard("a"))
    second = await bot.send_message(7, "second")
    elsewhere = await bot.send_message(8, "other chat")

    assert isinstance(first, Message)
    assert first.chat.id == 7
    assert first.chat.type == "private"
    assert first.from_user is not None and first.from_user.id == bot.id
    assert first.text == "Price < 5 42"  # what the person sees, markup rendered
    assert first.reply_markup is not None
    assert first.reply_markup.inline_keyboard[0][0].callback_data == "a"
    assert second.message_id == first.message_id + 1
    assert elsewhere.message_id == 1
    assert [p["text"] for p in fake.sent_messages(7)] == ["<b>Price</b> &lt; 5 42", "second"]
    assert fake.sent_messages(7)[0]["parse_mode"] == "HTML"
    assert fake.sent_messages(7)[0]["chat_id"] == 7
    assert [m.text for m in fake.transcript(7)] == ["Price < 5 42", "second"]


async def test_text_fields_stay_strings(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(7, "42")

    assert fake.sent_messages(7)[0]["text"] == "42"


async def test_edits_and_deletions_show_in_the_transcript(fake: FakeTelegram, bot: Bot) -> None:
    menu = await bot.send_message(7, "Menu", reply_markup=keyboard("a", "b"))
    note = await bot.send_message(7, "Note")

    edited = await bot.edit_message_text(
        "<i>Menu v2</i>", chat_id=7, message_id=menu.message_id, reply_markup=keyboard("c")
    )
    assert isinstance(edited, Message)
    assert edited.text == "Menu v2"
    assert edited.edit_date is not None
    shown = fake.message(7, menu.message_id)
    assert shown is not None
    assert shown.text == "Menu v2"
    assert shown.button("Button c")["callback_data"] == "c"

    await bot.edit_message_reply_markup(chat_id=7, message_id=menu.message_id)
    assert shown.buttons == []  # the keyboard is gone

    assert await bot.delete_message(7, note.message_id)
    last = fake.last_message(7)
    assert last is not None
    assert last.message_id == menu.message_id
    assert [m.message_id for m in fake.transcript(7)] == [menu.message_id]


async def test_edit_errors_match_telegram(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(7, "<b>Same</b>", reply_markup=keyboard("a"))

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<b>Same</b>", chat_id=7, message_id=sent.message_id, reply_markup=keyboard("a")
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=7, message_id=sent.message_id, reply_markup=keyboard("a")
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("new", chat_id=7, message_id=sent.message_id + 1)
    await bot.delete_message(7, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("new", chat_id=7, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(7, sent.message_id)
    assert [c.error_code for c in fake.calls_of("editMessageText")] == [400, 400, 400]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a <br> b", "can't parse entities: Unsupported start tag"),
        ("<b>bold", "can't find end tag"),
        ("<b>x</i>", "can't parse entities: Unmatched end tag"),
        ("<b> </b>", "message text is empty"),
        ("", "message text is empty"),
        ("x" * 4097, "message is too long"),
    ],
)
async def test_bad_text_is_refused_like_telegram(bot: Bot, text: str, error: str) -> None:
    with pytest.raises(TelegramBadRequest, match=f"(?i){error}"):
        await bot.send_message(7, text)


async def test_reply_keyboard_is_tracked_per_chat(fake: FakeTelegram, bot: Bot) -> None:
    markup = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Balance")]], resize_keyboard=True)

    sent = await bot.send_message(7, "Choose", reply_markup=markup)

    assert sent.reply_markup is None  # Telegram echoes inline keyboards only
    shown = fake.reply_keyboard(7)
    assert shown is not None
    assert shown["keyboard"] == [[{"text": "Balance"}]]
    await bot.send_message(7, "Removed", reply_markup=ReplyKeyboardRemove())
    assert fake.reply_keyboard(7) is None


async def test_commands_are_kept_per_scope_and_language(bot: Bot) -> None:
    english = [BotCommand(command="start", description="Start")]
    russian = [BotCommand(command="start", description="Старт")]
    private = [BotCommand(command="help", description="Help")]

    assert await bot.set_my_commands(english)
    await bot.set_my_commands(russian, language_code="ru")
    await bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())

    def described(commands: list[BotCommand]) -> list[tuple[str, str]]:
        return [(c.command, c.description) for c in commands]

    assert described(await bot.get_my_commands()) == [("start", "Start")]
    assert described(await bot.get_my_commands(language_code="ru")) == [("start", "Старт")]
    private_scope = BotCommandScopeAllPrivateChats()
    assert described(await bot.get_my_commands(scope=private_scope)) == [("help", "Help")]
    assert await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []
    assert described(await bot.get_my_commands()) == [("start", "Start")]


async def test_get_updates_offset_limit_and_confirmation(fake: FakeTelegram, bot: Bot) -> None:
    first_id = fake.next_update_id
    for text in ("one", "two", "three"):
        fake.send_text(USER, text)

    unconfirmed = await bot.get_updates()
    again = await bot.get_updates()
    after_first = await bot.get_updates(offset=first_id + 1, limit=1)
    rest = await bot.get_updates()

    assert [u.message.text for u in unconfirmed if u.message] == ["one", "two", "three"]
    assert [u.update_id for u in again] == [u.update_id for u in unconfirmed]
    assert [u.message.text for u in after_first if u.message] == ["two"]
    assert [u.message.text for u in rest if u.message] == ["two", "three"]


async def test_long_poll_returns_when_an_update_arrives(fake: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.1)
    assert not poll.done()

    fake.send_text(USER, "hi")

    updates = await asyncio.wait_for(poll, 10)  # far below the poll's own 30 s
    assert [u.message.text for u in updates if u.message] == ["hi"]


async def test_allowed_updates_filters_other_types(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(USER, "menu", reply_markup=keyboard("a"))
    fake.send_text(USER, "ignored")
    query_id = fake.press(USER, sent.message_id, "a")

    updates = await bot.get_updates(allowed_updates=["callback_query"])

    assert [u.callback_query.id for u in updates if u.callback_query] == [query_id]
    assert len(updates) == 1


async def test_second_poller_terminates_the_first(bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.1)
    second = await bot.get_updates()

    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(first, 10)
    assert second == []


async def test_dispatcher_polling_replies_to_start(fake: FakeTelegram, bot: Bot) -> None:
    dispatcher = Dispatcher()
    dispatcher.include_router(echo_router())

    async with polling(dispatcher, bot, fake):
        user_message_id = fake.send_text(USER, "/start", first_name="Ann <3")
        call = await fake.wait_for_call("sendMessage", chat_id=USER)
        await fake.wait_idle()

    assert call.params["text"] == "Hello, <b>Ann &lt;3</b>!"
    reply = fake.last_message(USER)
    assert reply is not None
    assert reply.text == "Hello, Ann <3!"
    assert reply.message_id == user_message_id + 1
    assert [b["callback_data"] for b in reply.buttons] == ["ping", "other"]
    assert set(fake.calls_of("getUpdates")[0].params["allowed_updates"]) == {
        "message",
        "callback_query",
    }


async def test_pressing_a_button_reaches_the_callback_handler(fake: FakeTelegram, bot: Bot) -> None:
    dispatcher = Dispatcher()
    dispatcher.include_router(echo_router())
    menu = await bot.send_message(USER, "Menu", reply_markup=keyboard("ping"))

    shown = fake.last_message(USER)
    assert shown is not None
    button = shown.button("Button ping")

    async with polling(dispatcher, bot, fake):
        query_id = fake.press(USER, menu.message_id, button["callback_data"])
        await fake.wait_for_call("editMessageText", chat_id=USER)
        await fake.wait_idle()

    assert fake.callback_answers[query_id]["text"] == "pong"
    shown = fake.message(USER, menu.message_id)
    assert shown is not None
    assert shown.text == "pinged from Menu"
    assert shown.buttons == []  # an edit without reply_markup removes the keyboard


async def test_press_refuses_buttons_the_person_cannot_see(fake: FakeTelegram, bot: Bot) -> None:
    menu = await bot.send_message(USER, "Menu", reply_markup=keyboard("a"))

    with pytest.raises(LookupError):
        fake.press(USER, menu.message_id, "b")
    with pytest.raises(LookupError):
        fake.press(USER, menu.message_id + 1, "a")


async def test_callback_query_can_be_answered_once(fake: FakeTelegram, bot: Bot) -> None:
    menu = await bot.send_message(USER, "Menu", reply_markup=keyboard("a"))
    query_id = fake.press(USER, menu.message_id, "a")

    assert await bot.answer_callback_query(query_id, text="ok", show_alert=True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    assert fake.callback_answers[query_id]["show_alert"] is True


async def test_json_bodies_are_accepted(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}/bot{fake.token}/sendMessage"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"chat_id": 5, "text": "42"}) as response,
    ):
        body = await response.json()

    assert body["ok"] is True
    assert body["result"]["text"] == "42"
    assert fake.sent_messages(5) == [{"chat_id": 5, "text": "42"}]


async def test_malformed_json_is_a_bad_request(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}/bot{fake.token}/sendMessage"
    headers = {"Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=b"{not json", headers=headers) as response,
    ):
        body = await response.json()

    assert response.status == 400
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: can't parse JSON object",
    }


async def test_unknown_methods_answer_true_and_are_logged(
    fake: FakeTelegram, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sandbox.fake_telegram"):
        assert await bot.set_my_description("A bot")

    assert fake.calls_of("setMyDescription")[0].params == {"description": "A bot"}
    assert "setMyDescription is not implemented" in caplog.text
    assert fake.token not in caplog.text


async def test_injected_failures(fake: FakeTelegram, bot: Bot) -> None:
    fake.faults.fail_next("sendMessage", retry_after=3)
    fake.faults.fail_next("sendMessage", error_code=403, chat_id=9, times=2)

    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(1, "flood")
    assert flood.value.retry_after == 3
    await bot.send_message(1, "other chat is not affected")
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_message(9, "blocked")
    await bot.send_message(9, "third time works")

    assert fake.faults.too_many_requests == 1
    assert [m.text for m in fake.transcript(1)] == ["other chat is not affected"]
    assert [m.text for m in fake.transcript(9)] == ["third time works"]
    assert [c.error_code for c in fake.calls_of("sendMessage")] == [429, None, 403, 403, None]


async def test_polling_failures_can_be_injected(fake: FakeTelegram, bot: Bot) -> None:
    fake.faults.fail_next("getUpdates", error_code=502)
    fake.send_text(USER, "kept for the next poll")

    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.get_updates()
    updates = await bot.get_updates()

    assert [u.message.text for u in updates if u.message] == ["kept for the next poll"]


async def test_blocked_chat_refuses_everything_until_unblocked(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await bot.send_message(9, "before")
    fake.faults.block_chat(9)

    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(9, "while blocked")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(9, "typing")
    with pytest.raises(TelegramForbiddenError):
        await bot.edit_message_text("edited", chat_id=9, message_id=sent.message_id)
    fake.faults.unblock_chat(9)
    await bot.send_message(9, "after")

    assert [m.text for m in fake.transcript(9)] == ["before", "after"]


async def test_rate_limiter_answers_429_beyond_the_limits(fake: FakeTelegram, bot: Bot) -> None:
    fake.faults.rate_limit(global_per_second=3, per_chat_per_second=1)

    await bot.send_message(1, "first")
    with pytest.raises(TelegramRetryAfter) as per_chat:
        await bot.send_message(1, "second in the same second")
    await bot.send_message(2, "x")
    await bot.send_message(3, "x")
    with pytest.raises(TelegramRetryAfter) as overall:
        await bot.send_message(4, "fourth in the same second")

    assert per_chat.value.retry_after == 1
    assert overall.value.retry_after == 1
    assert fake.faults.too_many_requests == 2
    assert fake.transcript(4) == []


async def test_waiting_helpers_time_out_with_context(fake: FakeTelegram) -> None:
    with pytest.raises(TimeoutError, match="last calls"):
        await fake.wait_for_call("sendMessage", timeout=0.1)
    fake.send_text(USER, "nobody polls")
    with pytest.raises(TimeoutError, match="queued updates: 1"):
        await fake.wait_idle(timeout=0.3)
