"""The shop's end-to-end tests use the panel simulator and the fake Bot API of tests/bot."""

from tests.bot.conftest import sim, tg

__all__ = ["sim", "tg"]
