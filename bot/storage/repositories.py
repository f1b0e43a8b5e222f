"""Where the rest of the bot imports rows and repositories from; each lives in its own module."""

from bot.storage.keys import KeyRepository
from bot.storage.leases import LeaseRepository
from bot.storage.orders import OrderRepository
from bot.storage.refills import RefillRepository
from bot.storage.rows import (
    Audience,
    DueOrder,
    FailureKind,
    OrderRow,
    Placement,
    RefillRow,
    RefillStatusUpdate,
    StatusUpdate,
    UserRow,
)
from bot.storage.users import UserRepository

__all__ = [
    "Audience",
    "DueOrder",
    "FailureKind",
    "KeyRepository",
    "LeaseRepository",
    "OrderRepository",
    "OrderRow",
    "Placement",
    "RefillRepository",
    "RefillRow",
    "RefillStatusUpdate",
    "StatusUpdate",
    "UserRepository",
    "UserRow",
]
