"""The rows the repositories return and the updates they take: plain frozen dataclasses and
named tuples."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from bot.domain import Placement


class FailureKind(StrEnum):
    """Why an order was not placed."""

    REJECTED = "rejected"  # the panel refused it; `failure` is the panel's message
    UNREACHABLE = "unreachable"  # the request surely never reached the panel
    NOT_PLACED = "not_placed"  # its outcome was unknown, and an admin found no such order


class Audience(StrEnum):
    """Who must hear that an order's outcome is unknown."""

    OWNER = "owner"
    ADMINS = "admins"


@dataclass(frozen=True, slots=True)
class UserRow:
    telegram_id: int
    language: str | None
    blocked: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    intent_token: str
    owner_id: int
    account: str
    panel_order_id: int | None
    service_id: int
    service_name: str
    service_type: str
    rate: Decimal
    link: str | None
    quantity: int | None
    extra: dict[str, Any]
    price: Decimal | None  # None: the panel sets it (Subscriptions)
    currency: str | None
    placement: Placement
    failure: str | None
    failure_kind: FailureKind | None
    status: str | None
    remains: int | None
    start_count: int | None
    charge: Decimal | None
    notified_status: str | None
    refillable: bool
    cancelable: bool
    next_poll_at: float | None
    poll_interval: float | None
    final: bool
    created_at: float
    updated_at: float
    # When the owner / the admins were told that the outcome is unknown (None: not yet).
    owner_told_at: float | None = None
    admins_told_at: float | None = None


@dataclass(frozen=True, slots=True)
class RefillRow:
    id: int
    order_id: int
    panel_refill_id: int
    owner_id: int
    account: str
    status: str | None
    notified_status: str | None
    final: bool
    next_poll_at: float | None
    poll_interval: float | None
    created_at: float
    updated_at: float


class StatusUpdate(NamedTuple):
    """One order's answer from `status`, with when to ask again (None: never).

    `currency` only fills an order that has none: an order keeps the currency its price was
    shown in, whatever a later answer says. A named tuple, as the update below: a status
    cycle makes one for every order that changed, and a frozen dataclass took twice as long.
    """

    local_id: int
    status: str | None
    remains: int | None
    start_count: int | None
    charge: Decimal | None
    currency: str | None
    final: bool
    next_poll_at: float | None
    poll_interval: float | None


class DueOrder(NamedTuple):
    """What a status poll needs of an order due (see OrderRepository.due_for_polling)."""

    id: int
    account: str
    panel_id: int
    status: str | None
    remains: int | None
    start_count: int | None
    charge: Decimal | None
    interval: float | None
    next_poll_at: float


class RefillStatusUpdate(NamedTuple):
    refill_id: int
    status: str | None
    final: bool
    next_poll_at: float | None
    poll_interval: float | None
