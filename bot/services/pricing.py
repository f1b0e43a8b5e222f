"""The price shown before an order is confirmed: exact `Decimal`, never float, never rounded.

`rate` is per 1000 units, so a priced order costs `rate × quantity / 1000`, times `runs` for
drip-feed (quantity is then per run). Package types cost the rate itself (one package).
Subscriptions cost nothing up front: the panel charges each new post as it comes, so the price is
unknown (None) and the confirmation says it is charged by the panel. The panel's own `charge` is
the truth afterwards.

A `Quote` is the price as shown on the confirmation screen: made once, kept with the draft, and
what the order records. It is never recomputed on the way to the panel; a catalogue that changed
in between makes a new quote, which the person must confirm again.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from pydantic import BaseModel, ConfigDict

from bot.panel.models import Service, ServiceType
from bot.services.money import EXACT

PACKAGE_KINDS = frozenset({ServiceType.PACKAGE, ServiceType.CUSTOM_COMMENTS_PACKAGE})


def order_price(
    service: Service, *, quantity: int | None, runs: int | None = None
) -> Decimal | None:
    """The order's price; None for Subscriptions (charged by the panel per post)."""
    kind = service.kind
    if kind is ServiceType.SUBSCRIPTIONS:
        return None
    if kind in PACKAGE_KINDS:
        return _normalised(service.rate)
    if quantity is None:
        raise ValueError(f"service type {kind.value!r} is priced by quantity; none given")
    with localcontext(EXACT):
        total = service.rate * quantity * (1 if runs is None else runs)
        return _normalised(total.scaleb(-3))


def _normalised(value: Decimal) -> Decimal:
    """Trailing fractional zeros trimmed, but no positive exponent: 900, not 9E+2."""
    with localcontext(EXACT):
        value = value.normalize()
        if value.is_zero():
            return Decimal(0)  # also drops the sign of -0
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            value = value.quantize(Decimal(1))
        return value


class Quote(BaseModel):
    """A price shown for one service at one rate; JSON-safe (the wizard keeps it in the FSM)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: int
    rate: Decimal
    price: Decimal | None  # None: the panel sets it (Subscriptions)
    currency: str | None  # the one the price was shown in (the balance's), when known
    made_at: float  # wall-clock seconds: a check needs a catalogue fetched after it

    def same_terms(self, other: Quote) -> bool:
        """The same service, rate and price: the person saw this quote already."""
        return (self.service, self.rate, self.price) == (other.service, other.rate, other.price)
