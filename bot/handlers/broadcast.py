"""/broadcast: the admin writes a message, adds a link button or not, picks who gets it, sees
how many people that is, and confirms; then a progress message follows the delivery."""

from __future__ import annotations

import re
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.broadcasts import Audience, BroadcastState, Content, Progress, Segment
from bot.config import Settings
from bot.i18n import CatalogI18n, _, format_number
from bot.keyboards import console as keyboards
from bot.keyboards.console import BroadcastStep, CancelBroadcast
from bot.services.broadcast import Broadcaster
from bot.views.broadcast import content_markup, progress_text
from bot.views.markup import BUTTON_LIMIT

_BUTTON = re.compile(r"^\s*(?P<label>[^|]+?)\s*\|\s*(?P<url>https?://\S+)\s*$")


class BroadcastForm(StatesGroup):
    content = State()
    button = State()
    audience = State()
    confirm = State()


async def start(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(BroadcastForm.content)
    await message.answer(
        _(
            "Send the message to broadcast: text (formatting is kept) or a photo with a "
            "caption. /cancel to stop."
        )
    )


async def take_content(message: Message, state: FSMContext) -> None:
    if message.photo:
        content = Content(
            html=message.html_text if message.caption else "", photo=message.photo[-1].file_id
        )
    elif message.text:
        content = Content(html=message.html_text)
    else:
        await message.answer(_("Send text, or a photo with a caption."))
        return
    await state.update_data(content=content.as_data())
    await state.set_state(BroadcastForm.button)
    await message.answer(_("Add a link button under it?"), reply_markup=keyboards.button_choice())


async def ask_button(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.answer(_("Send the button as: label | https://link"))


async def take_button(
    message: Message, state: FSMContext, i18n: CatalogI18n, settings: Settings
) -> None:
    match = _BUTTON.match(message.text or "")
    if match is None or len(match["label"]) > BUTTON_LIMIT:
        await message.answer(
            _(
                "Not understood. Send the button as: label | https://link "
                "(a label of at most {limit} characters)"
            ).format(limit=BUTTON_LIMIT)
        )
        return
    data = await state.get_data()
    content = Content.from_data(data["content"])
    content = Content(content.html, content.photo, match["label"], match["url"])
    await state.update_data(content=content.as_data())
    await _ask_audience(message, state, i18n, settings)


async def no_button(
    query: CallbackQuery, state: FSMContext, i18n: CatalogI18n, settings: Settings
) -> None:
    await query.answer()
    assert isinstance(query.message, Message)
    await _ask_audience(query.message, state, i18n, settings)


async def _ask_audience(
    message: Message, state: FSMContext, i18n: CatalogI18n, settings: Settings
) -> None:
    await state.set_state(BroadcastForm.audience)
    await message.answer(
        _("Who gets it?"),
        reply_markup=keyboards.segments(i18n.languages, shop=settings.shop_mode),
    )


def _audience(value: str, languages: tuple[str, ...], *, shop: bool) -> Audience | None:
    """The audience a button names; None for data no button of ours carries."""
    language = value.removeprefix("lang-")
    if language != value:
        return Audience(Segment.LANGUAGE, language) if language in languages else None
    if value in (Segment.ALL, Segment.RECENT_BUYERS) or (shop and value == Segment.WALLET):
        return Audience(Segment(value))
    return None


async def take_audience(
    query: CallbackQuery,
    callback_data: BroadcastStep,
    state: FSMContext,
    broadcaster: Broadcaster,
    bot: Bot,
    i18n: CatalogI18n,
    settings: Settings,
) -> None:
    await query.answer()
    assert isinstance(query.message, Message)
    audience = _audience(callback_data.value, i18n.languages, shop=settings.shop_mode)
    if audience is None:
        return
    count = await broadcaster.audience_size(audience)
    content = Content.from_data((await state.get_data())["content"])
    await state.update_data(segment=audience.segment.value, language=audience.language)
    await state.set_state(BroadcastForm.confirm)
    chat_id = query.message.chat.id
    await query.message.answer(_("Preview:"))
    await _send(bot, chat_id, content)
    await query.message.answer(
        _("It goes to {count} people (people who blocked the bot are left out).").format(
            count=format_number(count)
        ),
        reply_markup=keyboards.confirm(),
    )


async def _send(bot: Bot, chat_id: int, content: Content) -> None:
    markup = content_markup(content)
    if content.photo is not None:
        await bot.send_photo(
            chat_id, content.photo, caption=content.html or None, reply_markup=markup
        )
    else:
        await bot.send_message(chat_id, content.html, reply_markup=markup)


async def confirm(query: CallbackQuery, state: FSMContext, broadcaster: Broadcaster) -> None:
    data: dict[str, Any] = await state.get_data()
    await state.clear()
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_reply_markup(reply_markup=None)
    audience = Audience(Segment(data["segment"]), data.get("language"))
    broadcast = await broadcaster.launch(
        query.from_user.id, Content.from_data(data["content"]), audience
    )
    progress = await query.message.answer(
        progress_text(Progress(0, 0, 0, 0), BroadcastState.RUNNING),
        reply_markup=keyboards.cancel_broadcast(broadcast.id),
    )
    await broadcaster.track_progress(broadcast.id, progress.chat.id, progress.message_id)


async def abort(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(_("Not sent."))


async def stop_broadcast(
    query: CallbackQuery, callback_data: CancelBroadcast, broadcaster: Broadcaster
) -> None:
    if await broadcaster.cancel(callback_data.id):
        await query.answer(_("Cancelled: nobody else gets it."))
    else:
        await query.answer(_("This broadcast has already ended."))


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only. Admins only: the
    factory includes it in the admin router."""
    router = Router(name="broadcast")
    router.message(Command("broadcast"))(start)
    router.message(StateFilter(BroadcastForm.content))(take_content)
    router.message(StateFilter(BroadcastForm.button), F.text)(take_button)
    step = BroadcastStep.filter
    router.callback_query(StateFilter(BroadcastForm.button), step(F.action == "button"))(ask_button)
    router.callback_query(StateFilter(BroadcastForm.button), step(F.action == "nobutton"))(
        no_button
    )
    router.callback_query(StateFilter(BroadcastForm.audience), step(F.action == "segment"))(
        take_audience
    )
    router.callback_query(StateFilter(BroadcastForm.confirm), step(F.action == "confirm"))(confirm)
    router.callback_query(StateFilter(BroadcastForm.confirm), step(F.action == "abort"))(abort)
    router.callback_query(CancelBroadcast.filter())(stop_broadcast)
    return router
