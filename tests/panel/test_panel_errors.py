"""Error texts of the protocol file map to stable codes; the exceptions keep what they must."""

from __future__ import annotations

import pytest

from bot.panel.errors import (
    InvalidKey,
    OrderOutcomeUnknown,
    PanelError,
    PanelRejected,
    PanelUnavailable,
    known_error_code,
    rejection,
)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("Invalid API key", "invalid_key"),
        ("Invalid API key.", "invalid_key"),
        ("  invalid api KEY  ", "invalid_key"),
        ("Incorrect request", "incorrect_request"),
        ("Incorrect service ID", "incorrect_service"),
        ("incorrect service id.", "incorrect_service"),
        ("Not enough funds on balance", "not_enough_funds"),
        ("Not enough funds on balance.", "not_enough_funds"),
        ("Quantity less than minimal 50", "min_quantity"),
        ("Quantity less than minimal 1000.", "min_quantity"),
        ("quantity less than minimal", "min_quantity"),
        ("Quantity less than minimal 1,000", "min_quantity"),
        ("Quantity more than maximal", "max_quantity"),
        ("Quantity more than maximal 10000", "max_quantity"),
        ("Bad link", "bad_link"),
        ("Bad link.", "bad_link"),
        (
            "You have active order with this link. Please wait until order being completed.",
            "link_duplicate",
        ),
        ("You have active order with this link", "link_duplicate"),
        ("Incorrect order ID", "incorrect_order"),
        ("Order not eligible for refill.", "not_eligible_refill"),
        ("Order not eligible for refill", "not_eligible_refill"),
        ("Refill not found", "refill_not_found"),
        ("neworder.error.not_enough_funds", "not_enough_funds"),
        ("neworder.error.link_duplicate", "link_duplicate"),
        ("neworder.error.link", "bad_link"),
        ("neworder.error.min_quantity", "min_quantity"),
        ("neworder.error.max_quantity", "max_quantity"),
        ("error.incorrect_service_id", "incorrect_service"),
        ("  NEWORDER.ERROR.NOT_ENOUGH_FUNDS ", "not_enough_funds"),
    ],
)
def test_known_error_code_recognises_protocol_messages(message: str, code: str) -> None:
    assert known_error_code(message) == code


@pytest.mark.parametrize(
    "message",
    [
        "",
        "Service is disabled",
        "Order cannot be canceled.",
        "Quantity less than minimal fifty",
        "Invalid API key for this IP",
        "neworder.error.something_new",
        "Bad links everywhere",
    ],
)
def test_unknown_messages_have_no_code(message: str) -> None:
    assert known_error_code(message) is None


def test_rejection_is_invalid_key_only_for_the_key_message() -> None:
    assert isinstance(rejection("Invalid API key."), InvalidKey)
    other = rejection("  Bad link  ")
    assert type(other) is PanelRejected
    assert other.message == "Bad link"
    assert other.code == "bad_link"
    assert str(other) == "Bad link"


def test_exception_hierarchy() -> None:
    assert issubclass(InvalidKey, PanelRejected)
    assert issubclass(PanelRejected, PanelError)
    assert issubclass(OrderOutcomeUnknown, PanelUnavailable)
    assert issubclass(PanelUnavailable, PanelError)
    assert not issubclass(PanelUnavailable, PanelRejected)


def test_unavailable_reason_is_short() -> None:
    error = PanelUnavailable("x" * 500)
    assert len(error.reason) <= 100
    assert str(error) == error.reason
