"""The customer's price and the refunds, exact to the minor unit and rounded the shop's way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.money import AmountError, from_minor, minor_digits, parse_amount
from bot.services.shop_pricing import Markups, PriceRule, ordered_quantity, refund_for

USD = PriceRule(rate=Decimal(1), digits=2)


@pytest.mark.parametrize(
    ("cost", "markup", "rule", "expected"),
    [
        ("1", "30", USD, 130),
        ("0.9", "30", USD, 117),
        ("0.0009", "30", USD, 1),  # 0.00117 is not sold for 0.00
        ("0.001", "0", USD, 1),
        ("0.01", "0", USD, 1),
        ("0", "30", USD, 0),
        ("10", "12.5", USD, 1125),
        ("0.333", "50", USD, 50),  # 0.4995 up to 0.50
        ("1", "30", PriceRule(rate=Decimal(150), digits=0), 195),  # JPY: no minor unit
        ("0.001", "30", PriceRule(rate=Decimal(150), digits=0), 1),
        ("2", "0", PriceRule(rate=Decimal("0.5"), digits=2), 100),
        ("0.01", "30", PriceRule(rate=Decimal(1), digits=2, min_price=50), 50),
        ("1", "30", PriceRule(rate=Decimal(1), digits=2, min_price=50), 130),
    ],
)
def test_price_is_cost_times_markup_times_rate_rounded_up(
    cost: str, markup: str, rule: PriceRule, expected: int
) -> None:
    assert rule.price(Decimal(cost), Decimal(markup)) == expected


@given(
    cost=st.decimals(min_value=0, max_value=10**9, places=7),
    markup=st.decimals(min_value=0, max_value=1000, places=2),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=10**4, places=4),
    digits=st.sampled_from([0, 2, 3]),
)
def test_price_never_falls_below_the_rule_nor_a_minor_unit_above_it(
    cost: Decimal, markup: Decimal, rate: Decimal, digits: int
) -> None:
    price = PriceRule(rate=rate, digits=digits).price(cost, markup)
    exact = cost * (100 + markup) * rate / 100
    shown = from_minor(price, digits)
    unit = Decimal(1).scaleb(-digits)
    assert shown >= exact
    assert shown - exact < unit


def test_negative_costs_or_markups_are_refused() -> None:
    with pytest.raises(ValueError):
        USD.price(Decimal(-1), Decimal(30))
    with pytest.raises(ValueError):
        USD.price(Decimal(1), Decimal(-1))


def test_markup_service_override_beats_category_beats_default() -> None:
    markups = Markups(
        default=Decimal(30),
        services={7: Decimal(5)},
        categories={"Likes": Decimal(50)},
    )
    assert markups.for_service(7, "Likes") == 5
    assert markups.for_service(8, "Likes") == 50
    assert markups.for_service(8, "Views") == 30
    assert Markups(default=Decimal(0), services={1: Decimal(0)}).for_service(1, "x") == 0


@pytest.mark.parametrize(
    ("status", "quantity", "remains", "expected"),
    [
        ("Canceled", 1000, 0, 999),
        ("Cancelled", None, None, 999),
        ("Refunded", 1000, 1000, 999),
        ("Partial", 1000, 500, 499),  # 499.5 down
        ("Partial", 1000, 1, 0),  # 0.999 down: nothing
        ("Partial", 1000, 1000, 999),
        ("Partial", 1000, 5000, 999),  # remains above quantity: clamped
        ("Partial", 1000, -3, 0),
        ("Partial", 1000, None, 0),
        ("Partial", None, 10, 0),  # a package: not pro-rated
        ("Partial", 0, 0, 0),
        ("Completed", 1000, 0, 0),
        ("In progress", 1000, 500, 0),
        ("Fail", 1000, 1000, 0),
        (None, 1000, 10, 0),
    ],
)
def test_refunds(
    status: str | None, quantity: int | None, remains: int | None, expected: int
) -> None:
    assert refund_for(999, status, quantity, remains) == expected


@given(
    charge=st.integers(0, 10**12),
    quantity=st.integers(1, 10**9),
    remains=st.integers(-(10**9), 2 * 10**9),
)
def test_a_partial_refund_is_never_more_than_owed(charge: int, quantity: int, remains: int) -> None:
    refund = refund_for(charge, "Partial", quantity, remains)
    undelivered = min(max(remains, 0), quantity)
    assert 0 <= refund <= charge
    assert Decimal(refund) <= Decimal(charge) * undelivered / quantity < refund + 1


def test_drip_feed_quantity_is_per_run() -> None:
    assert ordered_quantity(100, 5) == 500
    assert ordered_quantity(100, None) == 100
    assert ordered_quantity(None, 5) is None


def test_minor_units_come_from_babel() -> None:
    assert minor_digits("USD") == 2
    assert minor_digits("JPY") == 0
    assert minor_digits("KWD") == 3
    assert from_minor(1234, 2) == Decimal("12.34")
    assert str(from_minor(5, 2)) == "0.05"


@pytest.mark.parametrize(
    ("text", "digits", "expected"),
    [("12.5", 2, 1250), ("12,50", 2, 1250), (" 3 ", 2, 300), ("7", 0, 7), ("0.01", 2, 1)],
)
def test_amounts_typed_by_admins(text: str, digits: int, expected: int) -> None:
    assert parse_amount(text, digits) == expected


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("0", 2),
        ("-1", 2),
        ("0.001", 2),
        ("1.5", 0),
        ("abc", 2),
        ("nan", 2),
        ("inf", 2),
        ("1e30", 2),
        ("", 2),
    ],
)
def test_bad_amounts_are_refused_not_rounded(text: str, digits: int) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, digits)
