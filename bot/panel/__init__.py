"""SMM panel API v2: client, models and errors (the simulator is in bot.sandbox)."""

from bot.panel.account import PanelAccount, key_fingerprint
from bot.panel.client import DEFAULT_USER_AGENT, PanelClient
from bot.panel.errors import (
    InvalidKey,
    OrderOutcomeUnknown,
    PanelError,
    PanelRejected,
    PanelUnavailable,
    known_error_code,
)
from bot.panel.models import (
    Balance,
    ItemError,
    NewOrder,
    OrderStatus,
    Service,
    ServiceType,
    canonical_status,
    is_final_order_status,
    is_final_refill_status,
)

__all__ = [
    "DEFAULT_USER_AGENT",
    "Balance",
    "InvalidKey",
    "ItemError",
    "NewOrder",
    "OrderOutcomeUnknown",
    "OrderStatus",
    "PanelAccount",
    "PanelClient",
    "PanelError",
    "PanelRejected",
    "PanelUnavailable",
    "Service",
    "ServiceType",
    "canonical_status",
    "is_final_order_status",
    "is_final_refill_status",
    "key_fingerprint",
    "known_error_code",
]
