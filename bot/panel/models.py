"""Pydantic models of API v2 answers and requests, tolerant to the variants panels send."""

from __future__ import annotations

import functools
import html
import logging
import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

from bot.domain import Status

log = logging.getLogger(__name__)


class ServiceType(StrEnum):
    DEFAULT = "Default"
    PACKAGE = "Package"
    CUSTOM_COMMENTS = "Custom Comments"
    CUSTOM_COMMENTS_PACKAGE = "Custom Comments Package"
    MENTIONS = "Mentions"
    MENTIONS_WITH_HASHTAGS = "Mentions with Hashtags"
    MENTIONS_CUSTOM_LIST = "Mentions Custom List"
    MENTIONS_HASHTAG = "Mentions Hashtag"
    MENTIONS_USER_FOLLOWERS = "Mentions User Followers"
    MENTIONS_MEDIA_LIKERS = "Mentions Media Likers"
    COMMENT_LIKES = "Comment Likes"
    COMMENT_REPLIES = "Comment Replies"
    POLL = "Poll"
    INVITES_FROM_GROUPS = "Invites from Groups"
    SUBSCRIPTIONS = "Subscriptions"
    WEB_TRAFFIC = "Web Traffic"

    @classmethod
    def parse(cls, raw: str) -> ServiceType | None:
        return _TYPES_BY_NORMAL_NAME.get(_normal(raw))


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


_TYPES_BY_NORMAL_NAME = {_normal(member.value): member for member in ServiceType}

# Each unknown type is logged once per process, not once per service or per lookup.
_reported_unknown_types: set[str] = set()

_UNKNOWN_WORDS = frozenset({"", "unknown", "null", "none", "n/a", "-"})


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if value.casefold() in _UNKNOWN_WORDS:
            return None
    return value


# Bounds of the numbers a panel may send. Beyond them a value is nonsense (no order counts
# 10^19 of anything, no charge is 10^19 in any currency) and would break what comes after: SQLite
# stores 64-bit integers only, int() of 1e500000 blocks the event loop for seconds, and Babel
# cannot format a Decimal of 1E+25 or more. Zero is exempt: 0E+99 is just zero.
_MAX_EXPONENT = 18  # Decimal.adjusted() of the largest accepted number (< 10^19)
_MIN_EXPONENT = -30  # and of the smallest nonzero one (amounts below 10^-30 are noise)
_INT64 = range(-(2**63), 2**63)  # what an SQLite INTEGER holds


def _finite_decimal(value: Any) -> Decimal | None:
    """The number `value` spells (int, float, Decimal or text), or None."""
    value = _blank_to_none(value)
    if value is None or isinstance(value, bool):
        return None
    try:
        # str() keeps a float's short repr (0.9 -> "0.9") instead of its binary expansion.
        number = Decimal(value if isinstance(value, Decimal | int) else str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _in_bounds(number: Decimal) -> bool:
    return not number or _MIN_EXPONENT <= number.adjusted() <= _MAX_EXPONENT


def _optional_decimal(value: Any) -> Decimal | None:
    number = _finite_decimal(value)
    return number if number is not None and _in_bounds(number) else None


def _optional_int(value: Any) -> int | None:
    number = _finite_decimal(value)
    # The exponent is checked before int(), which would take seconds for 1e500000.
    if number is None or (number and number.adjusted() > _MAX_EXPONENT):
        return None
    if number != number.to_integral_value():
        return None
    integer = int(number)
    return integer if integer in _INT64 else None


def _sane_number(value: Any) -> Any:
    """For a required number: refuse one out of bounds (the field, and so the answer or the
    catalogue entry, is then invalid); anything else goes on to pydantic's own parsing."""
    number = _finite_decimal(value)
    if number is not None and not _in_bounds(number):
        raise ValueError("number out of range")
    return value


def _int64(value: int) -> int:
    if value not in _INT64:
        raise ValueError("number out of range")
    return value


def _optional_text(value: Any) -> str | None:
    value = _blank_to_none(value)
    return None if value is None else str(value)


def _flag(value: Any) -> Any:
    return False if value is None or value == "" else value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _unescaped(value: Any) -> str:
    return html.unescape(_text(value)).strip()


# ISO 4217 codes are three letters; a few panels write "USDT" or "RUB" in lower case. Anything
# else (a link, markup, a sentence) is not a currency and is treated as if the panel said none.
_CURRENCY = re.compile(r"[A-Za-z]{1,5}")


def _currency(value: Any) -> str | None:
    text = _optional_text(value)
    return text if text is not None and _CURRENCY.fullmatch(text) else None


def _lines(value: Any) -> Any:
    if isinstance(value, str):
        return [line for line in value.splitlines() if line.strip()]
    return value


OptionalDecimal = Annotated[Decimal | None, BeforeValidator(_optional_decimal)]
OptionalInt = Annotated[int | None, BeforeValidator(_optional_int)]
SaneDecimal = Annotated[Decimal, BeforeValidator(_sane_number)]
SaneInt = Annotated[int, BeforeValidator(_sane_number), AfterValidator(_int64)]
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Text = Annotated[str, BeforeValidator(_text)]
UnescapedText = Annotated[str, BeforeValidator(_unescaped)]
Lines = Annotated[list[str] | None, BeforeValidator(_lines)]
Currency = Annotated[str | None, BeforeValidator(_currency)]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)


class Service(_Answer):
    service: SaneInt
    name: UnescapedText
    type: Annotated[str, BeforeValidator(lambda v: _text(v).strip())] = ServiceType.DEFAULT.value
    category: UnescapedText = ""
    rate: SaneDecimal
    min: SaneInt
    max: SaneInt
    refill: Flag = False
    cancel: Flag = False
    dripfeed: Flag = False
    description: Text = Field(default="", validation_alias=AliasChoices("desc", "description"))

    @model_validator(mode="after")
    def _orderable(self) -> Service:
        # A negative price would be "earned", and no quantity fits min > max: such a service
        # could only lead a person into a dead end, so it is not offered at all.
        if self.rate < 0:
            raise ValueError("negative rate")
        # A minimum of 0 is common and means 1 (the order form asks for at least one unit).
        if self.min < 0 or max(1, self.min) > self.max:
            raise ValueError("no quantity is allowed (min < 0, or min or 1 above max)")
        return self

    @property
    def type_known(self) -> bool:
        return ServiceType.parse(self.type) is not None

    @property
    def kind(self) -> ServiceType:
        known = ServiceType.parse(self.type)
        if known is not None:
            return known
        if self.type not in _reported_unknown_types:
            _reported_unknown_types.add(self.type)
            log.warning(
                "unknown service type %r (service %d): treated as Default", self.type, self.service
            )
        return ServiceType.DEFAULT


class OrderStatus(NamedTuple):
    """One order's state; every field is None when the panel did not say (not zero).

    A named tuple, not a model: a status cycle makes 100,000 of them, and a model's
    construction cost three times a frozen dataclass's, and that one's over three times a tuple's.
    `parse_order_status` validates an answer."""

    status: OptionalText = None
    charge: OptionalDecimal = None
    start_count: OptionalInt = None
    remains: OptionalInt = None
    currency: Currency = None


_VALIDATED_ORDER_STATUS = TypeAdapter(OrderStatus)
_ORDER_STATUS_FIELDS = frozenset(OrderStatus._fields)
_new_tuple = tuple.__new__


def validated_order_status(value: dict[Any, Any]) -> OrderStatus:
    """An answer validated in full (ValidationError for one that is not an order's state).
    Keys that are not OrderStatus fields (an "error" beside them, a panel's own extras) are
    left out first: a named tuple refuses them, where a model ignores them."""
    return _VALIDATED_ORDER_STATUS.validate_python(
        {name: field for name, field in value.items() if name in _ORDER_STATUS_FIELDS}
    )


# The shape nearly every panel sends: plain digits, a plain status word, a currency code.
_PLAIN_DECIMAL = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,12})?")
_PLAIN_CURRENCY = re.compile(r"[A-Za-z]{1,5}")
_PLAIN_STATUS = re.compile(r"[A-Za-z][A-Za-z _-]{0,30}[A-Za-z]")
_REFUSED = object()  # a field outside the plain shape: the answer is validated in full


def _plain_word(raw: str, pattern: re.Pattern[str]) -> bool:
    return pattern.fullmatch(raw) is not None and raw.casefold() not in _UNKNOWN_WORDS


# Statuses and currencies are a handful of words repeated over every order. One cache a
# pattern: a cache keyed by the text alone skips building and hashing an argument tuple.
_plain_status = functools.lru_cache(maxsize=512)(lambda raw: _plain_word(raw, _PLAIN_STATUS))
_plain_currency = functools.lru_cache(maxsize=512)(lambda raw: _plain_word(raw, _PLAIN_CURRENCY))


def _plain_count(raw: Any) -> Any:
    """A count (start_count, remains) in the plain shape, as full validation reads it."""
    if raw is None:
        return None
    if type(raw) is str:
        # isdigit() alone takes other scripts' digits; isascii() keeps to 0-9.
        return int(raw) if raw.isdigit() and raw.isascii() and len(raw) <= 18 else _REFUSED
    if type(raw) is int and 0 <= raw < 10**18:  # a JSON number
        return raw
    return _REFUSED


def _plain_charge(raw: Any) -> Any:
    if raw is None:
        return None
    if type(raw) is str:
        return Decimal(raw) if _PLAIN_DECIMAL.fullmatch(raw) else _REFUSED
    # A JSON number: the client reads fractions as Decimal, whole ones as int.
    if type(raw) is int and 0 <= raw < 10**18:
        return Decimal(raw)
    if type(raw) is Decimal and raw.is_finite() and (not raw or -12 <= raw.adjusted() <= 17):
        return raw
    return _REFUSED


def parse_order_status(value: Any) -> OrderStatus:
    """An order's status answer; ValueError (pydantic's ValidationError) for one that is not."""
    if not isinstance(value, dict):
        raise ValueError("not an order object")
    return plain_order_status(value) or validated_order_status(value)


def plain_order_status(value: dict[Any, Any]) -> OrderStatus | None:
    """The OrderStatus that full validation would make of `value`, without its validators,
    when every field is in the plain shape; None for anything else (validated in full).
    A cycle over 100,000 orders spent a fifth of its time in those validators."""
    status = value.get("status")
    if status is not None and not (type(status) is str and _plain_status(status)):
        return None
    currency = value.get("currency")
    if currency is not None and not (type(currency) is str and _plain_currency(currency)):
        return None
    charge = _plain_charge(value.get("charge"))
    start_count = _plain_count(value.get("start_count"))
    remains = _plain_count(value.get("remains"))
    if charge is _REFUSED or start_count is _REFUSED or remains is _REFUSED:
        return None
    # tuple.__new__ straight: OrderStatus(...) goes through a Python-level __new__.
    return _new_tuple(OrderStatus, (status, charge, start_count, remains, currency))


class Balance(_Answer):
    balance: SaneDecimal
    currency: Annotated[str, BeforeValidator(lambda v: _currency(v) or "USD")] = "USD"


class ItemError(_Answer):
    """The panel's error for one item of a multi answer."""

    message: str


class NewOrder(BaseModel):
    """The fields of an `add` request; which ones apply depends on the service type.

    Named as `OrderField` spells them (a test holds the two together). A field it does not know
    is refused, not dropped: an order sent without something the person answered is not theirs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: int
    link: str | None = None
    quantity: int | None = None
    runs: int | None = None
    interval: int | None = None
    comments: Lines = None
    usernames: Lines = None
    hashtags: Lines = None
    hashtag: str | None = None
    username: str | None = None
    media: str | None = None
    answer_number: int | None = None
    groups: Lines = None
    min: int | None = None
    max: int | None = None
    posts: int | None = None
    old_posts: int | None = None
    delay: int | None = None
    expiry: str | None = None
    country: str | None = None
    device: int | None = None
    type_of_traffic: int | None = None
    google_keyword: str | None = None
    referring_url: str | None = None

    def to_form(self) -> dict[str, str]:
        form: dict[str, str] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            form[name] = "\n".join(value) if isinstance(value, list) else str(value)
        return form


# Spellings panels use, normalised (lower case, "_" and "-" as spaces), to one Status.
_CANONICAL_STATUSES = {
    "in progress": Status.IN_PROGRESS,
    "inprogress": Status.IN_PROGRESS,
    "cancelled": Status.CANCELED,
    **{member.value.replace("_", " "): member for member in Status},
}
_FINAL_ORDER = frozenset(
    {
        Status.COMPLETED,
        Status.PARTIAL,
        Status.CANCELED,
        Status.REFUNDED,
        Status.FAIL,
        Status.ERROR,
    }
)
_FINAL_REFILL = frozenset({Status.COMPLETED, Status.REJECTED, Status.ERROR, Status.CANCELED})


def canonical_status(status: str) -> Status | None:
    """The known order or refill status `status` spells; None when unknown."""
    return _CANONICAL_STATUSES.get(_normal(status.replace("_", " ").replace("-", " ")))


def status_to_store(old: str | None, new: str | None) -> str | None:
    """The status to store: the old text when the panel only changed its spelling (letter
    case, Canceled/Cancelled), so that no change is reported; the old one when it said none."""
    if new is None:
        return old
    if old is not None and old != new:
        code = canonical_status(old)
        if code is not None and code == canonical_status(new):
            return old
    return new


def is_final_order_status(status: str | None) -> bool:
    return status is not None and canonical_status(status) in _FINAL_ORDER


def is_final_refill_status(status: str | None) -> bool:
    return status is not None and canonical_status(status) in _FINAL_REFILL
