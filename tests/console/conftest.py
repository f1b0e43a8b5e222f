"""The console's end-to-end tests run the whole bot like tests/bot (same fixtures)."""

from __future__ import annotations

from tests.bot.conftest import harness, shop, shop_settings, sim, tg

__all__ = ["harness", "shop", "shop_settings", "sim", "tg"]
