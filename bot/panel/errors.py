"""Exceptions of the panel client and the table of known panel error texts."""

from __future__ import annotations

import re

_REASON_LIMIT = 100


class PanelError(Exception):
    """Base of every panel failure."""


class PanelRejected(PanelError):
    """The panel answered with an error object: it received the request and refused it."""

    def __init__(self, message: str) -> None:
        self.message = message.strip()
        super().__init__(self.message)

    @property
    def code(self) -> str | None:
        return known_error_code(self.message)


class InvalidKey(PanelRejected):
    """The panel does not accept the API key."""


class PanelUnavailable(PanelError):
    """No usable answer: network failure, timeout, 5xx, 429, HTML or garbage instead of JSON."""

    def __init__(self, reason: str) -> None:
        reason = reason.strip()
        if len(reason) > _REASON_LIMIT:
            reason = reason[: _REASON_LIMIT - 1] + "…"
        self.reason = reason
        super().__init__(reason)


class OrderOutcomeUnknown(PanelUnavailable):
    """An `add` request may have reached the panel but its answer was lost.

    The order may exist: it must not be placed again automatically.
    """


def rejection(message: str) -> PanelRejected:
    """The exception for a panel error text: `InvalidKey` when it says so."""
    if known_error_code(message) == "invalid_key":
        return InvalidKey(message)
    return PanelRejected(message)


_NUMBER = r"(?:\s*\d[\d,.\s]*?)?"

# English sentences, compared on lower-cased text with collapsed whitespace and without a
# trailing period.
_SENTENCES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), code)
    for pattern, code in (
        (r"invalid api key", "invalid_key"),
        (r"incorrect request", "incorrect_request"),
        (r"incorrect service id", "incorrect_service"),
        (r"not enough funds on balance", "not_enough_funds"),
        (rf"quantity less than minimal{_NUMBER}", "min_quantity"),
        (rf"quantity more than maximal{_NUMBER}", "max_quantity"),
        (r"bad link", "bad_link"),
        (r"you have active order with this link\b.*", "link_duplicate"),
        (r"incorrect order id", "incorrect_order"),
        (r"order not eligible for refill", "not_eligible_refill"),
        (r"refill not found", "refill_not_found"),
    )
)

# Untranslated message keys (`neworder.error.not_enough_funds`): the last segment decides.
_RAW_KEY = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)+")
_RAW_SEGMENTS: dict[str, str] = {
    "invalid_key": "invalid_key",
    "invalid_api_key": "invalid_key",
    "incorrect_request": "incorrect_request",
    "incorrect_service_id": "incorrect_service",
    "incorrect_service": "incorrect_service",
    "not_enough_funds": "not_enough_funds",
    "min_quantity": "min_quantity",
    "max_quantity": "max_quantity",
    "link": "bad_link",
    "bad_link": "bad_link",
    "link_duplicate": "link_duplicate",
    "incorrect_order_id": "incorrect_order",
    "incorrect_order": "incorrect_order",
    "not_eligible_refill": "not_eligible_refill",
    "refill_not_found": "refill_not_found",
}


def known_error_code(message: str) -> str | None:
    """A stable code for a known panel error text, or None for a text to show as written."""
    text = " ".join(message.split()).lower()
    if _RAW_KEY.fullmatch(text):
        return _RAW_SEGMENTS.get(text.rsplit(".", 1)[1])
    text = text.rstrip(".! ")
    for pattern, code in _SENTENCES:
        if pattern.fullmatch(text):
            return code
    return None
