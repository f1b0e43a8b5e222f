"""Callback data of every inline button; short prefixes and numbers keep it within 64 bytes."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Every number in callback data is bounded to what SQLite stores: a forged button beyond 64 bits
# then fails to parse, and gets the usual "this button no longer works" answer, instead of an
# OverflowError deep in a handler.
Int64 = Annotated[int, Field(ge=-(2**63), lt=2**63)]


class CategoriesPage(CallbackData, prefix="cl"):
    page: Int64


class CategoryPage(CallbackData, prefix="cp"):
    category: Int64
    page: Int64


class ServiceCard(CallbackData, prefix="sc"):
    service: Int64
    category: Int64 = -1
    page: Int64 = 0


class StartOrder(CallbackData, prefix="so"):
    service: Int64


class WizardStep(CallbackData, prefix="ws"):
    """Back, skip, cancel, or a choice (`value`) for the question `field`."""

    action: str
    field: str = ""
    value: str = ""


class ConfirmOrder(CallbackData, prefix="co"):
    token: str


class OrdersPage(CallbackData, prefix="ol"):
    page: Int64


class OrderAction(CallbackData, prefix="oa"):
    """`card`, `refresh`, `refill`, `cancel` (asks), `cancel_yes` on the order with local `id`."""

    action: str
    id: Int64


class PickLanguage(CallbackData, prefix="lg"):
    code: str


class Noop(CallbackData, prefix="nop"):
    """The page counter between arrows: pressing it does nothing."""


class TopUp(CallbackData, prefix="tu"):
    """The shop's Top up button: the amounts to pay, or how to top up without payments."""


class TopupPick(CallbackData, prefix="tp"):
    """A top-up's provider, then its amount in minor units (0: choose one; -1: type one)."""

    provider: str
    minor: Int64


class TopupCheck(CallbackData, prefix="tk"):
    """'I have paid' under a Crypto Pay invoice of the top-up `id`."""

    id: Int64
