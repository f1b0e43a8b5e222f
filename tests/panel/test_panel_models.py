"""Models parse every number encoding and keep unknown values unknown."""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal

import pytest
from pydantic import ValidationError

from bot.panel.models import (
    Balance,
    NewOrder,
    OrderStatus,
    Service,
    ServiceType,
    canonical_status,
    is_final_order_status,
    is_final_refill_status,
    parse_order_status,
)


@pytest.mark.parametrize("member", list(ServiceType))
def test_service_type_parse_every_type_any_case_and_spacing(member: ServiceType) -> None:
    assert ServiceType.parse(member.value) is member
    assert ServiceType.parse(f"  {member.value.upper()} ") is member
    assert ServiceType.parse(member.value.lower().replace(" ", "   ")) is member


def test_service_type_parse_unknown() -> None:
    assert ServiceType.parse("Telepathy") is None
    assert ServiceType.parse("") is None


def _service(**fields: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "service": 1,
        "name": "Followers",
        "type": "Default",
        "category": "First Category",
        "rate": "0.90",
        "min": "50",
        "max": "10000",
        "refill": True,
        "cancel": True,
    }
    entry.update(fields)
    return entry


def test_service_from_strings_and_numbers_alike() -> None:
    as_strings = Service.model_validate(_service(service="1", rate="0.90", min="50"))
    as_numbers = Service.model_validate(_service(service=1, rate=Decimal("0.9"), min=50))
    assert as_strings.service == as_numbers.service == 1
    assert as_strings.rate == as_numbers.rate == Decimal("0.9")
    assert as_strings.min == as_numbers.min == 50
    assert as_strings.max == 10000
    assert as_strings.dripfeed is False
    assert as_strings.description == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (False, False), (1, True), (0, False), ("1", True), ("0", False),
     ("true", True), ("false", False), (None, False)],
)  # fmt: skip
def test_service_flags(raw: object, expected: bool) -> None:
    service = Service.model_validate(_service(dripfeed=raw, refill=raw, cancel=raw))
    assert service.dripfeed is service.refill is service.cancel is expected


def test_service_text_fields() -> None:
    service = Service.model_validate(
        _service(name="Likes &amp; Views &#128293; 💖", category="Insta &quot;Top&quot;",
                 desc="Start 0-1h", extra_field={"x": 1})
    )  # fmt: skip
    assert service.name == "Likes & Views 🔥 💖"
    assert service.category == 'Insta "Top"'
    assert service.description == "Start 0-1h"
    assert Service.model_validate(_service(description="Long")).description == "Long"


def test_service_kind_known_case_insensitive() -> None:
    service = Service.model_validate(_service(type="custom comments"))
    assert service.type == "custom comments"
    assert service.kind is ServiceType.CUSTOM_COMMENTS
    assert service.type_known


def test_unknown_service_type_kept_treated_as_default_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Service.model_validate(_service(type="Story Views Deluxe (models test)"))
    with caplog.at_level(logging.WARNING, logger="bot.panel.models"):
        assert service.kind is ServiceType.DEFAULT
        assert service.kind is ServiceType.DEFAULT
    assert service.type == "Story Views Deluxe (models test)"
    assert not service.type_known
    warnings = [r for r in caplog.records if "Story Views Deluxe" in r.getMessage()]
    assert len(warnings) == 1


def test_order_status_protocol_example() -> None:
    status = parse_order_status(
        {"charge": "0.27819", "start_count": "3572", "status": "Partial", "remains": "157",
         "currency": "USD"}
    )  # fmt: skip
    assert status == OrderStatus(
        status="Partial",
        charge=Decimal("0.27819"),
        start_count=3572,
        remains=157,
        currency="USD",
    )


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "In progress", "remains": "Unknown", "start_count": ""},
        {"status": "In progress", "remains": None},
        {"status": "In progress"},
        {"status": "In progress", "remains": "unknown", "start_count": "n/a", "order": 5},
    ],
)
def test_order_status_unknown_values_are_none_not_zero(answer: dict[str, object]) -> None:
    status = parse_order_status(answer)
    assert status.status == "In progress"
    assert status.remains is None
    assert status.start_count is None
    assert status.charge is None


def test_order_status_numbers_and_unknown_status_kept() -> None:
    status = parse_order_status(
        {"charge": Decimal("1.44219"), "start_count": 234, "status": " Waiting for moon ",
         "remains": "10"}
    )  # fmt: skip
    assert status.charge == Decimal("1.44219")
    assert status.start_count == 234
    assert status.remains == 10
    assert status.status == "Waiting for moon"
    assert status.currency is None


def test_balance_default_currency_and_exact_money() -> None:
    assert Balance.model_validate({"balance": "100.84292"}) == Balance(
        balance=Decimal("100.84292"), currency="USD"
    )
    balance = Balance.model_validate(
        {"balance": Decimal("0.1234567"), "currency": "EUR", "status": "success"}
    )
    assert balance.balance == Decimal("0.1234567")
    assert balance.currency == "EUR"


def test_new_order_form_only_set_fields_and_lists_joined() -> None:
    order = NewOrder(
        service=7,
        link="https://instagram.com/p/1",
        comments=["Nice!", "Wow 😍"],
        usernames=["a", "b"],
        answer_number=2,
    )
    assert order.to_form() == {
        "service": "7",
        "link": "https://instagram.com/p/1",
        "comments": "Nice!\nWow 😍",
        "usernames": "a\nb",
        "answer_number": "2",
    }


def test_new_order_accepts_multiline_text_for_lists() -> None:
    assert NewOrder(service=1, groups="g1\n\ng2\n").groups == ["g1", "g2"]  # type: ignore[arg-type]


def test_new_order_json_round_trip() -> None:
    order = NewOrder(
        service=3,
        username="someone",
        min=50,
        max=100,
        posts=0,
        delay=30,
        expiry="31/12/2030",
        hashtags=["#a", "#b"],
    )
    stored = json.dumps(order.model_dump(mode="json"))
    assert NewOrder.model_validate(json.loads(stored)) == order
    assert NewOrder.model_validate(json.loads(stored)).to_form() == order.to_form()


@pytest.mark.parametrize(
    ("status", "code", "final_order", "final_refill"),
    [
        ("Pending", "pending", False, False),
        ("In progress", "in_progress", False, False),
        ("IN PROGRESS", "in_progress", False, False),
        ("Processing", "processing", False, False),
        ("Active", "active", False, False),
        ("Completed", "completed", True, True),
        ("completed", "completed", True, True),
        ("Partial", "partial", True, False),
        ("Canceled", "canceled", True, True),
        ("Cancelled", "canceled", True, True),
        ("Refunded", "refunded", True, False),
        ("Fail", "fail", True, False),
        ("Error", "error", True, True),
        ("Rejected", "rejected", False, True),
        ("Waiting for moon", None, False, False),
    ],
)
def test_status_helpers(
    status: str, code: str | None, final_order: bool, final_refill: bool
) -> None:
    assert canonical_status(status) == code
    assert is_final_order_status(status) is final_order
    assert is_final_refill_status(status) is final_refill


def test_unknown_status_is_not_final() -> None:
    assert not is_final_order_status(None)
    assert not is_final_refill_status(None)


# --- numbers out of bounds (review: poison values) --------------------------------------------


@pytest.mark.parametrize(
    "raw",
    # Each breaks something downstream: SQLite holds 64-bit integers only, int() of 1e500000
    # takes seconds, Babel cannot format a Decimal of 1E+25 or more.
    ["1e23", Decimal("1E+23"), 10**23, "-1e23", "9999999999999999999", 2**63, -(2**63) - 1,
     "1e500000", Decimal("1E+500000")],
)  # fmt: skip
def test_order_status_integer_out_of_bounds_is_unknown(raw: object) -> None:
    status = parse_order_status({"status": "Partial", "remains": raw, "start_count": raw})
    assert status.remains is None
    assert status.start_count is None
    assert status.status == "Partial"


@pytest.mark.parametrize(
    "raw", ["1E+400", Decimal("1E+400"), "1e25", "-1e19", 10**19, "1e-31", "1E-400", 1e300]
)
def test_order_status_money_out_of_bounds_is_unknown(raw: object) -> None:
    status = parse_order_status({"status": "Partial", "charge": raw, "remains": "10"})
    assert status.charge is None
    assert status.remains == 10


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("9223372036854775807", 2**63 - 1), ("-9223372036854775808", -(2**63)),
     ("999999999999999999", 10**18 - 1), ("1e3", 1000), ("1000.000", 1000), (Decimal("12"), 12),
     ("0E+500000", 0), (-5, -5)],
)  # fmt: skip
def test_order_status_integers_within_bounds_are_kept(raw: object, expected: int) -> None:
    assert parse_order_status({"remains": raw}).remains == expected


@pytest.mark.parametrize(
    "raw", ["999999999999999999.99", "0.000000000000000000000000000001", "0E+400", "-0.5", "1e3"]
)
def test_order_status_money_within_bounds_is_kept(raw: str) -> None:
    assert parse_order_status({"charge": raw}).charge == Decimal(raw)


def test_a_huge_exponent_is_refused_without_computing_it() -> None:
    started = time.perf_counter()
    status = parse_order_status({"remains": "1e500000", "start_count": "1e500000"})
    assert status.remains is None and status.start_count is None
    assert time.perf_counter() - started < 0.5  # int(Decimal("1e500000")) alone takes seconds


@pytest.mark.parametrize("field", ["service", "rate", "min", "max"])
@pytest.mark.parametrize("raw", ["1e23", 10**23, Decimal("1E+500000"), "1E+400"])
def test_service_with_a_number_out_of_bounds_is_invalid(field: str, raw: object) -> None:
    with pytest.raises(ValidationError):
        Service.model_validate(_service(**{field: raw}))


@pytest.mark.parametrize("field", ["service", "min", "max"])
def test_service_integer_beyond_64_bits_is_invalid(field: str) -> None:
    with pytest.raises(ValidationError):
        Service.model_validate(_service(**{field: 2**63}))
    largest = Service.model_validate(_service(**{"max": 2**63 - 1, field: 2**63 - 1}))
    assert getattr(largest, field) == 2**63 - 1


def test_balance_out_of_bounds_is_invalid() -> None:
    with pytest.raises(ValidationError):
        Balance.model_validate({"balance": "1E+400"})
    assert Balance.model_validate({"balance": "1e18"}).balance == Decimal("1e18")
