from decimal import Decimal, localcontext

import pytest

from bot.panel.models import Service, ServiceType
from bot.services.pricing import order_price


def service(type_: str = "Default", rate: str = "0.90") -> Service:
    return Service(
        service=1,
        name="x",
        type=type_,
        category="c",
        rate=Decimal(rate),
        min=1,
        max=10**12,
        refill=False,
        cancel=False,
        dripfeed=True,
        description="",
    )


def assert_exact(value: Decimal | None, text: str) -> None:
    """Equal in value and in form: no exponent, no trailing zeros."""
    assert isinstance(value, Decimal)
    assert str(value) == text
    assert value == Decimal(text)


@pytest.mark.parametrize(
    ("rate", "quantity", "expected"),
    [
        ("0.90", 1000, "0.9"),
        ("0.0123", 7, "0.0000861"),
        ("0.96", 100, "0.096"),
        ("8", 10, "0.08"),
        ("3", 1000, "3"),
        ("1.5", 2000, "3"),
        ("100", 10000, "1000"),
        ("0", 500, "0"),
        ("0.90", 1, "0.0009"),
    ],
)
def test_rate_times_quantity_per_thousand_is_exact(rate: str, quantity: int, expected: str) -> None:
    assert_exact(order_price(service(rate=rate), quantity=quantity), expected)


def test_runs_multiply_the_price() -> None:
    assert_exact(order_price(service(rate="0.90"), quantity=100, runs=5), "0.45")
    assert_exact(order_price(service("Web Traffic", "0.5"), quantity=300, runs=4), "0.6")


def test_big_numbers_stay_exact() -> None:
    quantity = runs = 999_999_999_999
    price = order_price(service(rate="123456789.1234567"), quantity=quantity, runs=runs)
    # rate has 7 decimals, the division by 1000 adds 3: the exact value is an integer / 10**10.
    digits = str(1234567891234567 * quantity * runs)
    expected = (digits[:-10] + "." + digits[-10:]).rstrip("0").rstrip(".")
    assert isinstance(price, Decimal)
    assert format(price, "f") == expected
    assert price == Decimal(expected)


def test_a_low_ambient_precision_does_not_round_the_price() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        price = order_price(service(rate="0.0123456"), quantity=98765)
    assert_exact(price, "1.219313184")


@pytest.mark.parametrize("type_", [ServiceType.PACKAGE, ServiceType.CUSTOM_COMMENTS_PACKAGE])
def test_a_package_costs_its_rate(type_: ServiceType) -> None:
    assert_exact(order_price(service(type_.value, "12.50"), quantity=None), "12.5")
    assert_exact(order_price(service(type_.value, "200"), quantity=None), "200")


def test_subscriptions_have_no_price_up_front() -> None:
    assert order_price(service("Subscriptions", "5"), quantity=None) is None


def test_an_unknown_type_is_priced_like_default() -> None:
    assert_exact(order_price(service("Something New", "2"), quantity=1500), "3")


def test_a_quantity_priced_service_needs_a_quantity() -> None:
    with pytest.raises(ValueError, match="quantity"):
        order_price(service(), quantity=None)
