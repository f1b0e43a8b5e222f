"""The shop's end-to-end tests use the panel simulator and the fake Bot API of tests/bot."""

from tests.bot.conftest import shop, shop_settings, sim, tg

__all__ = ["shop", "shop_settings", "sim", "tg"]
