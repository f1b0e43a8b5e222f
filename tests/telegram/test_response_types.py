"""The model a Bot API answer is read with is built once, not again after each collection."""

import gc
import weakref
from collections.abc import Callable

from aiogram import Bot
from aiogram.methods import Response
from aiogram.types import User

from bot.telegram.response_types import KeepResponseTypes


async def test_the_model_of_an_answer_outlives_garbage_collections(
    make_bot: Callable[..., Bot],
) -> None:
    bot = make_bot(KeepResponseTypes())
    me = await bot.get_me()
    model = weakref.ref(Response[User])  # pydantic's own, as the call used it

    gc.collect()

    assert model() is not None  # the next getMe builds nothing
    assert await bot.get_me() == me
