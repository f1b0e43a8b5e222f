"""/referral: the person's link, how many they brought and (in a shop) what it earned them.
Thin: the rules are bot.services.referrals, the texts bot.views.referrals."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.services.referrals import Referrals, start_payload
from bot.services.topups import TopupService
from bot.views import referrals as views
from bot.views.shop import ShopMoney


async def referral(
    message: Message, bot: Bot, referrals: Referrals, topups: TopupService | None
) -> None:
    assert message.from_user is not None
    figures = await referrals.figures(message.from_user.id)
    me = await bot.me()
    url = views.link(me.username or "", start_payload(figures.code))
    earned = None
    if topups is not None:  # a shop: there is money to show
        earned = ShopMoney(topups.currency, topups.digits)(figures.earned)
    await message.answer(views.screen(url, figures.brought, earned))


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="referral")
    router.message(Command("referral"))(referral)
    return router
