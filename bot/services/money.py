"""Shop money as integers of the currency's minor unit (cents for USD, yen for JPY).

Amounts are stored and added as `int`; `Decimal` appears only where a price is computed or an
amount is read from or shown to a person. No float anywhere: a float cannot hold 0.1.
"""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

from babel.numbers import get_currency_precision

# Far more digits than a rate (panels keep up to 7 decimals) times 12-digit quantities and runs
# can need; Inexact is trapped so that a result would raise rather than be silently rounded.
# Only the explicit roundings below round (to_integral_value never signals).
EXACT = Context(prec=200, traps=[InvalidOperation, Inexact, Overflow, DivisionByZero])


# The largest amount an admin may type: far below a BIGINT column's limit.
MAX_MINOR = 10**15


class AmountError(ValueError):
    """Text that is not a positive amount with at most the currency's decimals."""


def minor_digits(currency: str) -> int:
    """Decimals of the currency's minor unit, from Babel's CLDR data: 2 for USD, 0 for JPY."""
    return int(get_currency_precision(currency))


def to_minor_up(amount: Decimal, digits: int) -> int:
    """`amount` in minor units, rounded up: a price never falls below its own rule."""
    with localcontext(EXACT):
        return int(amount.scaleb(digits).to_integral_value(rounding=ROUND_CEILING))


def to_minor_down(amount: Decimal, digits: int) -> int:
    """`amount` in minor units, rounded down: a refund never gives more than is owed."""
    with localcontext(EXACT):
        return int(amount.scaleb(digits).to_integral_value(rounding=ROUND_FLOOR))


def from_minor(minor: int, digits: int) -> Decimal:
    """The amount as a Decimal with exactly `digits` decimals (for showing it)."""
    with localcontext(EXACT):
        return Decimal(minor).scaleb(-digits)


def parse_amount(text: str, digits: int) -> int:
    """An amount an admin typed (`12.5`, `12,50`), in minor units; AmountError unless it is
    a positive number with at most `digits` decimals (nothing is ever rounded silently)."""
    cleaned = text.strip().replace(",", ".")
    try:
        value = Decimal(cleaned)
        if not value.is_finite() or value <= 0:
            raise AmountError(text)
        with localcontext(EXACT):
            minor = value.scaleb(digits)
    except ArithmeticError:
        raise AmountError(text) from None
    if minor != minor.to_integral_value() or minor > MAX_MINOR:
        raise AmountError(text)
    return int(minor)
