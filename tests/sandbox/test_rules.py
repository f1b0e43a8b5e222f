"""The fake refuses what Telegram refuses, with Telegram's descriptions."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from tests.fakes.telegram import FakeTelegram

USER = 42


def button(**fields: Any) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="B", **fields)]])


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("x" * 4097, "message is too long"),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>no</div>", 'Unsupported start tag "div"'),
        ("a < b", "Unexpected end of name token at byte offset 2"),
        ("R&D", "Character '&' must be escaped at byte offset 1"),
        ("<b></b>", "message text is empty"),
    ],
)
async def test_bad_text_is_refused(
    fake: FakeTelegram, bot: Bot, text: str, description: str
) -> None:
    with pytest.raises(TelegramBadRequest, match=description):
        await bot.send_message(USER, text, parse_mode="HTML")
    assert fake.transcript(USER) == []


async def test_limits_count_the_visible_text(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(USER, f"<b>{'x' * 4096}</b>", parse_mode="HTML")  # 4103 with tags
    await bot.send_message(USER, "a &lt; b &amp; c", parse_mode="HTML")
    assert [m.text for m in fake.transcript(USER)] == ["x" * 4096, "a < b & c"]


async def test_captions_are_limited_to_1024(fake: FakeTelegram, bot: Bot) -> None:
    photo = BufferedInputFile(b"\x89PNG", "p.png")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, photo, caption="y" * 1025)
    sent = await bot.send_photo(USER, photo, caption=f"<i>{'y' * 1024}</i>", parse_mode="HTML")
    assert sent.caption == "y" * 1024
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.edit_message_caption(chat_id=USER, message_id=sent.message_id, caption="z" * 1025)


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        (button(callback_data="x" * 65), "BUTTON_DATA_INVALID"),
        (button(callback_data="é" * 33), "BUTTON_DATA_INVALID"),  # 66 bytes
        (button(url="javascript:alert(1)"), "BUTTON_URL_INVALID"),
    ],
)
async def test_bad_buttons_are_refused(
    fake: FakeTelegram, bot: Bot, markup: InlineKeyboardMarkup, description: str
) -> None:
    with pytest.raises(TelegramBadRequest, match=description):
        await bot.send_message(USER, "text", reply_markup=markup)
    assert fake.transcript(USER) == []


async def test_64_bytes_of_callback_data_are_accepted(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(USER, "text", reply_markup=button(callback_data="é" * 32))
    assert fake.transcript(USER)[0].buttons[0]["callback_data"] == "é" * 32


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        ('{"inline_keyboard": [{"text": "B", "callback_data": "x"}]}', "Array of Arrays"),
        ('{"inline_keyboard": [[{"text": "B"}]]}', "Text buttons are unallowed"),
        ('{"inline_keyboard": [[{"callback_data": "x"}]]}', 'Field "text"'),
        ('{"keyboard": "no"}', "Array of Arrays"),
        ('{"unknown": true}', "can't parse reply keyboard markup"),
        ("[1]", "can't parse reply keyboard markup"),
    ],
)
async def test_malformed_reply_markup_is_refused(
    fake: FakeTelegram, markup: str, description: str
) -> None:
    url = f"{fake.base_url}/bot{fake.token}/sendMessage"
    form = {"chat_id": str(USER), "text": "t", "reply_markup": markup}
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        answer = await response.json()
    assert response.status == 400
    assert description in answer["description"]
    assert answer["description"].startswith("Bad Request: ")
