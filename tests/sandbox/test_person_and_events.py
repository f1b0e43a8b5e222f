"""The person driver and the feed of chat events, through a real aiogram Bot and Dispatcher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.sandbox.events import ChatEvent, EventKind
from tests.fakes.telegram import FakeTelegram

USER = 42
WAIT = 10.0


def router() -> Router:
    router = Router()

    @router.message(F.photo | F.document)
    async def media(message: Message) -> None:
        kind = "photo" if message.photo else "document"
        await message.answer(f"{kind}: {message.caption}")

    @router.message(F.text)
    async def text(message: Message) -> None:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]]
        )
        await message.answer(f"you said {message.text}", reply_markup=markup)

    @router.callback_query(F.data == "go")
    async def go(callback: CallbackQuery) -> None:
        await callback.answer("gone", show_alert=True)
        assert isinstance(callback.message, Message)
        await callback.message.edit_text("went")
        await callback.message.delete()

    @router.my_chat_member()
    async def member(update: ChatMemberUpdated) -> None:
        if update.new_chat_member.status == "member":
            await update.bot.send_message(update.chat.id, "welcome back")  # type: ignore[union-attr]

    return router


@pytest.fixture
async def running(fake: FakeTelegram, bot: Bot) -> AsyncIterator[None]:
    dispatcher = Dispatcher()
    dispatcher.include_router(router())
    task = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    await fake.wait_for_call("getUpdates")
    yield
    await dispatcher.stop_polling()
    await task


async def collect(events: AsyncIterator[ChatEvent], count: int) -> list[ChatEvent]:
    seen: list[ChatEvent] = []
    async with asyncio.timeout(WAIT):
        async for event in events:
            seen.append(event)
            if len(seen) == count:
                return seen
    raise AssertionError("unreachable")


@pytest.mark.usefixtures("running")
async def test_a_conversation_is_published_as_events(fake: FakeTelegram) -> None:
    person = fake.person(USER, language_code="ja", first_name="Aiko")
    async with fake.events.subscribe() as events:
        person.send_text("hi")
        first = await collect(events, 2)
        person.press_button("Go")
        rest = await collect(events, 4)

    kinds = [(e.kind, e.chat_id) for e in first + rest]
    assert kinds == [
        (EventKind.MESSAGE_SENT, USER),
        (EventKind.MESSAGE_SENT, USER),
        (EventKind.BUTTON_PRESSED, USER),
        (EventKind.CALLBACK_ANSWERED, USER),
        (EventKind.MESSAGE_EDITED, USER),
        (EventKind.MESSAGE_DELETED, USER),
    ]
    mine, reply = first
    assert mine.message is not None and not mine.message.from_bot
    assert reply.message is not None and reply.message.text == "you said hi"
    assert reply.json()["message"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Go"
    assert reply.details == {"reply_keyboard": None}
    answered, edited = rest[1], rest[2]
    assert answered.details["text"] == "gone" and answered.details["show_alert"] is True
    assert edited.message is not None and edited.message.text == "went"  # a copy of that moment
    assert fake.transcript(USER) == []
    assert fake.chats.user(USER) == {
        "id": USER,
        "is_bot": False,
        "first_name": "Aiko",
        "language_code": "ja",
    }


@pytest.mark.usefixtures("running")
async def test_photos_and_documents_carry_their_captions(fake: FakeTelegram) -> None:
    person = fake.person(USER)
    photo = person.send_photo("look")
    person.send_document("key.txt", "my file")
    await fake.wait_for(lambda: len(fake.transcript(USER)) == 2, WAIT)

    assert [m.text for m in fake.transcript(USER)] == ["photo: look", "document: my file"]
    shown = fake.message(USER, photo)
    assert shown is not None and (shown.media, shown.text) == ("photo", "look")


@pytest.mark.usefixtures("running")
async def test_leaving_blocks_the_chat_and_rejoining_tells_the_bot(fake: FakeTelegram) -> None:
    person = fake.person(USER)
    person.leave()
    person.send_text("still here?")
    await fake.wait_for_call("sendMessage", chat_id=USER)
    assert fake.calls_of("sendMessage")[0].error_code == 403

    person.rejoin()
    await fake.wait_for(lambda: [m.text for m in fake.transcript(USER)] == ["welcome back"], WAIT)


async def test_pressing_needs_the_button_on_a_bot_message(fake: FakeTelegram) -> None:
    person = fake.person(USER)
    own = person.send_text("mine")
    with pytest.raises(LookupError, match="no bot message"):
        person.press(own, "go")
    with pytest.raises(LookupError, match="no bot message"):
        person.press_button("Go")


async def test_a_forged_press_may_be_answered(fake: FakeTelegram, bot: Bot) -> None:
    query_id = fake.person(USER).forge_press(999, "anything")
    assert await bot.answer_callback_query(query_id, text="no")
    assert fake.callback_answers[query_id]["text"] == "no"
    (update,) = await bot.get_updates(timeout=0)
    assert update.callback_query is not None
    assert update.callback_query.data == "anything"


async def test_subscribers_see_only_what_follows_and_each_sees_all(fake: FakeTelegram) -> None:
    person = fake.person(USER)
    person.send_text("before")
    async with fake.events.subscribe() as one, fake.events.subscribe() as two:
        person.send_text("after")
        for events in (one, two):
            (event,) = await collect(events, 1)
            assert event.message is not None and event.message.text == "after"
