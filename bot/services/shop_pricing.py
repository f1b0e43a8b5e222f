"""The shop's rules for prices and refunds, in integers of the shop currency's minor unit.

Price = panel cost × (1 + markup) × PANEL_TO_SHOP_RATE, exact, rounded UP to the minor unit, and
at least SHOP_MIN_ORDER_PRICE. A refund is the full charge (Canceled, Refunded) or the charge ×
remains / quantity rounded DOWN (Partial): the shop never sells below its rule and never gives
back more than it took.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from pydantic import BaseModel, ConfigDict

from bot.domain import Status
from bot.panel.models import canonical_status
from bot.services.money import EXACT, to_minor_up

FULL_REFUND_STATUSES = frozenset({Status.CANCELED, Status.REFUNDED})
# The ends the panel gives money back for, and so a shop refunds (once).
REFUND_STATUSES = FULL_REFUND_STATUSES | {Status.PARTIAL}


class Charge(BaseModel):
    """What a customer confirmed: the price in the shop's currency, and what it costs the shop.

    JSON-safe: the wizard keeps it in the FSM between the confirmation and Confirm.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    price: Decimal  # shown to the person, stored on the order
    currency: str
    amount: int  # the same price in minor units: what the wallet is charged
    cost: int  # the panel's price in shop minor units, for the margin


@dataclass(frozen=True, slots=True)
class Markups:
    """Markup percentages: a service's own, else its category's, else the default."""

    default: Decimal
    services: Mapping[int, Decimal] = field(default_factory=dict)
    categories: Mapping[str, Decimal] = field(default_factory=dict)

    def for_service(self, service_id: int, category: str) -> Decimal:
        if service_id in self.services:
            return self.services[service_id]
        return self.categories.get(category, self.default)


@dataclass(frozen=True, slots=True)
class PriceRule:
    """Everything a price depends on but the panel cost and the markup."""

    rate: Decimal  # shop units per panel unit
    digits: int  # decimals of the shop currency's minor unit
    min_price: int = 0  # minor units

    def exact(self, panel_amount: Decimal, markup_percent: Decimal) -> Decimal:
        """A panel amount (a cost, a rate per 1000) in the shop's money, before rounding."""
        if panel_amount < 0 or markup_percent < 0:
            raise ValueError("a cost and a markup are never negative")
        with localcontext(EXACT):
            return panel_amount * (100 + markup_percent) * self.rate / 100

    def charge(self, exact_price: Decimal) -> int:
        """What is charged for an exact price: rounded up, and at least the minimum."""
        return max(to_minor_up(exact_price, self.digits), self.min_price)

    def price(self, panel_cost: Decimal, markup_percent: Decimal) -> int:
        """The customer's price in minor units."""
        return self.charge(self.exact(panel_cost, markup_percent))

    def cost(self, panel_cost: Decimal) -> int:
        """The panel cost in shop minor units (rounded up: the margin is never overstated)."""
        with localcontext(EXACT):
            return to_minor_up(panel_cost * self.rate, self.digits)


def ordered_quantity(quantity: int | None, runs: int | None) -> int | None:
    """What the panel delivers in all: a drip-feed order's quantity is per run."""
    if quantity is None:
        return None
    return quantity * (runs if runs else 1)


def refund_for(charge: int, status: str | None, quantity: int | None, remains: int | None) -> int:
    """The refund a final status earns, in minor units (0: none).

    Partial without a known quantity (a package) or remains cannot be pro-rated: nothing is
    refunded automatically and an admin may credit by hand.
    """
    code = canonical_status(status or "")
    if code in FULL_REFUND_STATUSES:
        return charge
    if code != Status.PARTIAL or not quantity or quantity <= 0 or remains is None:
        return 0
    undelivered = min(max(remains, 0), quantity)
    return charge * undelivered // quantity
