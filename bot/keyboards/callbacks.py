"""Callback data of every inline button; short prefixes and numbers keep it within 64 bytes."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class CategoriesPage(CallbackData, prefix="cl"):
    page: int


class CategoryPage(CallbackData, prefix="cp"):
    category: int
    page: int


class ServiceCard(CallbackData, prefix="sc"):
    service: int
    category: int = -1
    page: int = 0


class StartOrder(CallbackData, prefix="so"):
    service: int


class WizardStep(CallbackData, prefix="ws"):
    """Back, skip, cancel, or a choice (`value`) for the question `field`."""

    action: str
    field: str = ""
    value: str = ""


class ConfirmOrder(CallbackData, prefix="co"):
    token: str


class OrdersPage(CallbackData, prefix="ol"):
    page: int


class OrderAction(CallbackData, prefix="oa"):
    """`card`, `refresh`, `refill`, `cancel` (asks), `cancel_yes` on the order with local `id`."""

    action: str
    id: int


class PickLanguage(CallbackData, prefix="lg"):
    code: str


class Noop(CallbackData, prefix="nop"):
    """The page counter between arrows: pressing it does nothing."""


class TopUp(CallbackData, prefix="tu"):
    """The shop's Top up button (how to top up, until payments exist)."""
