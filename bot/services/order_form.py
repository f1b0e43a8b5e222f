"""The order wizard's rules: which `add` fields a service type asks, in order, and their parsing.

The wizard keeps `answers`, a JSON-serialisable dict of field name -> parsed value, filled in
question order; a skipped optional field is recorded as None. `next_field` gives the next
question, `previous_field` the one a Back button returns to (its answer, and only it, is then
removed), `parse_answer` turns a user's text into the value to store, `build_order` makes the
`add` request, `quote_for` the price to confirm. Field names are `OrderField`s.

A list answer may come in several messages (Telegram splits a text over 4096 characters):
`add_list_part` appends one message's items, `may_continue` tells whether more parts may follow,
`finish_list` checks the count once every part is in.

Some questions depend on earlier answers: drip-feed `runs` is asked only when the quantity
leaves room for at least two runs within the service's max (its spec from `next_field` carries
`max_value` = max // quantity), `interval` only after `runs` was given (then it is required),
`google_keyword` only for `type_of_traffic` 1, `referring_url` only for 2. `fields_for` lists
every question a type may ask, with the bounds known before any answer.

`parse_answer` raises `InvalidAnswer(code, params)`; the codes (all in `ERROR_CODES`):

- empty: nothing but whitespace was sent.
- url_expected: not an http(s) URL with a host, or it has spaces.
- url_too_long (max): longer than `max` characters.
- integer_expected: anything but ASCII digits ("1e3", "-5", "5.5", "1 000", "５０").
- out_of_range (min, max): a number outside min..max (also any number of over 12 digits).
- lines_count (min, max, count): a list has `count` items, outside min..max.
- line_too_long (max, line): item on line `line` (1-based, as sent) is over `max` characters.
- text_too_long (max): a one-line text is over `max` characters.
- single_line_expected: a one-line answer came with several lines.
- username_invalid, hashtag_invalid: not a username / hashtag; when the value is an item of a
  list, params carry `line` (1-based, as sent), otherwise params are empty.
- not_a_choice (choices): not one of `choices`.
- date_expected: not a date written d/m/Y.
- date_in_past: the date is not after today (UTC).
- dripfeed_total_too_big (max, total): runs × quantity = `total` exceeds the service's `max`.
- min_above_max (min, max): the Subscriptions `max` answer is below the `min` answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from bot.domain import OrderField
from bot.panel.models import NewOrder, Service, ServiceType
from bot.services.pricing import PACKAGE_KINDS, Quote, order_price

ParsedValue = str | int | list[str]
Answers = Mapping[str, Any]

ERROR_CODES = frozenset(
    {
        "empty",
        "url_expected",
        "url_too_long",
        "integer_expected",
        "out_of_range",
        "lines_count",
        "line_too_long",
        "text_too_long",
        "single_line_expected",
        "username_invalid",
        "hashtag_invalid",
        "not_a_choice",
        "date_expected",
        "date_in_past",
        "dripfeed_total_too_big",
        "min_above_max",
    }
)

MAX_URL_LENGTH = 2000
MAX_LINE_LENGTH = 500
# Bounds the digits handed to int(): quantities are far below 10**12.
MAX_DIGITS = 12
# Lists whose length is not the quantity (usernames to mention, groups...) still need a bound;
# one Telegram message (4096 characters) cannot reach it anyway.
MAX_LIST_ITEMS = 10_000
MAX_HASHTAG_LENGTH = 100
# A message this long may be a part of a split text and be followed by more (`may_continue`):
# a part cut at the line end nearest the 4096-character limit is at least this long.
LIST_PART_LENGTH = 4096 - MAX_LINE_LENGTH - 1
# Sanity caps for numbers the protocol leaves unbounded.
MAX_POLL_ANSWER = 100
MAX_POSTS = 100_000

DRIPFEED_INTERVALS = (0, 5, 10, 15, 30, 60, 90)
SUBSCRIPTION_DELAYS = (
    0,
    5,
    10,
    15,
    30,
    60,
    90,
    120,
    150,
    180,
    210,
    240,
    270,
    300,
    360,
    420,
    480,
    540,
    600,
)
DEVICES = (1, 2, 3, 4, 5)
TRAFFIC_TYPES = (1, 2, 3)
TRAFFIC_TYPE_GOOGLE = 1
TRAFFIC_TYPE_REFERRER = 2
MIN_RUNS = 2

_DIGITS = re.compile(r"[0-9]+")
_USERNAME = re.compile(r"[A-Za-z0-9_.]{1,64}")
_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


class FieldKind(StrEnum):
    URL = "url"
    QUANTITY = "quantity"
    LINES = "lines"  # one item per line
    TEXT = "text"  # one line: username, hashtag, country, keyword
    INTEGER = "integer"
    CHOICE = "choice"
    DATE = "date"  # d/m/Y
    DRIPFEED_RUNS = "dripfeed_runs"
    DRIPFEED_INTERVAL = "dripfeed_interval"


@dataclass(frozen=True)
class FieldSpec:
    """One question. For LINES, min_value/max_value bound the number of items."""

    name: OrderField
    kind: FieldKind
    optional: bool = False
    min_value: int | None = None
    max_value: int | None = None
    choices: tuple[int | str, ...] | None = None


class InvalidAnswer(ValueError):
    """A user's answer was refused; `code` and `params` are for the translated message."""

    def __init__(self, code: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(code)  # never the user's text: it may be huge or private
        self.code = code
        self.params = params or {}


@dataclass(frozen=True)
class _Step:
    spec: FieldSpec
    applies: Callable[[Service, Answers], bool] = lambda service, answers: True


def _runs_limit(service: Service, answers: Answers) -> int | None:
    quantity = answers.get(OrderField.QUANTITY)
    return service.max // quantity if isinstance(quantity, int) and quantity > 0 else None


def _runs_possible(service: Service, answers: Answers) -> bool:
    limit = _runs_limit(service, answers)
    return limit is not None and limit >= MIN_RUNS


def _runs_given(service: Service, answers: Answers) -> bool:
    return answers.get(OrderField.RUNS) is not None


def _traffic_is(traffic_type: int) -> Callable[[Service, Answers], bool]:
    return lambda service, answers: answers.get(OrderField.TYPE_OF_TRAFFIC) == traffic_type


_LINK = _Step(FieldSpec(OrderField.LINK, FieldKind.URL))
_RUNS = _Step(
    FieldSpec(OrderField.RUNS, FieldKind.DRIPFEED_RUNS, optional=True, min_value=MIN_RUNS),
    _runs_possible,
)
_INTERVAL = _Step(
    FieldSpec(OrderField.INTERVAL, FieldKind.DRIPFEED_INTERVAL, choices=DRIPFEED_INTERVALS),
    _runs_given,
)


def _quantity(service: Service) -> _Step:
    return _Step(
        FieldSpec(
            OrderField.QUANTITY,
            FieldKind.QUANTITY,
            min_value=max(1, service.min),
            max_value=service.max,
        )
    )


def _counted_lines(name: OrderField, service: Service) -> _Step:
    """A list whose length is the order's quantity."""
    return _Step(
        FieldSpec(name, FieldKind.LINES, min_value=max(1, service.min), max_value=service.max)
    )


def _lines(name: OrderField) -> _Step:
    return _Step(FieldSpec(name, FieldKind.LINES, min_value=1, max_value=MAX_LIST_ITEMS))


def _text(name: OrderField) -> _Step:
    return _Step(FieldSpec(name, FieldKind.TEXT))


def _optional_count(name: OrderField) -> FieldSpec:
    return FieldSpec(name, FieldKind.INTEGER, optional=True, min_value=0, max_value=MAX_POSTS)


def _steps(service: Service) -> list[_Step]:
    match service.kind:
        case ServiceType.DEFAULT:
            dripfeed = [_RUNS, _INTERVAL] if service.dripfeed else []
            return [_LINK, _quantity(service), *dripfeed]
        case ServiceType.PACKAGE:
            return [_LINK]
        case ServiceType.CUSTOM_COMMENTS:
            return [_LINK, _counted_lines(OrderField.COMMENTS, service)]
        case ServiceType.CUSTOM_COMMENTS_PACKAGE:
            return [_LINK, _lines(OrderField.COMMENTS)]
        case ServiceType.MENTIONS:
            return [_LINK, _quantity(service), _lines(OrderField.USERNAMES)]
        case ServiceType.MENTIONS_WITH_HASHTAGS:
            return [
                _LINK,
                _quantity(service),
                _lines(OrderField.USERNAMES),
                _lines(OrderField.HASHTAGS),
            ]
        case ServiceType.MENTIONS_CUSTOM_LIST:
            return [_LINK, _counted_lines(OrderField.USERNAMES, service)]
        case ServiceType.MENTIONS_HASHTAG:
            return [_LINK, _quantity(service), _text(OrderField.HASHTAG)]
        case ServiceType.MENTIONS_USER_FOLLOWERS | ServiceType.COMMENT_LIKES:
            return [_LINK, _quantity(service), _text(OrderField.USERNAME)]
        case ServiceType.MENTIONS_MEDIA_LIKERS:
            return [_LINK, _quantity(service), _Step(FieldSpec(OrderField.MEDIA, FieldKind.URL))]
        case ServiceType.COMMENT_REPLIES:
            return [_LINK, _text(OrderField.USERNAME), _counted_lines(OrderField.COMMENTS, service)]
        case ServiceType.POLL:
            answer = FieldSpec(
                OrderField.ANSWER_NUMBER, FieldKind.INTEGER, min_value=1, max_value=MAX_POLL_ANSWER
            )
            return [_LINK, _quantity(service), _Step(answer)]
        case ServiceType.INVITES_FROM_GROUPS:
            return [_LINK, _quantity(service), _lines(OrderField.GROUPS)]
        case ServiceType.SUBSCRIPTIONS:
            low, high = max(1, service.min), service.max
            return [
                _text(OrderField.USERNAME),
                _Step(FieldSpec(OrderField.MIN, FieldKind.INTEGER, min_value=low, max_value=high)),
                _Step(FieldSpec(OrderField.MAX, FieldKind.INTEGER, min_value=low, max_value=high)),
                _Step(_optional_count(OrderField.POSTS)),
                _Step(_optional_count(OrderField.OLD_POSTS)),
                _Step(FieldSpec(OrderField.DELAY, FieldKind.CHOICE, choices=SUBSCRIPTION_DELAYS)),
                _Step(FieldSpec(OrderField.EXPIRY, FieldKind.DATE, optional=True)),
            ]
        case ServiceType.WEB_TRAFFIC:
            return [
                _LINK,
                _quantity(service),
                _RUNS,
                _INTERVAL,
                _Step(FieldSpec(OrderField.COUNTRY, FieldKind.TEXT, optional=True)),
                _Step(
                    FieldSpec(OrderField.DEVICE, FieldKind.CHOICE, optional=True, choices=DEVICES)
                ),
                _Step(
                    FieldSpec(
                        OrderField.TYPE_OF_TRAFFIC,
                        FieldKind.CHOICE,
                        optional=True,
                        choices=TRAFFIC_TYPES,
                    )
                ),
                _Step(
                    FieldSpec(OrderField.GOOGLE_KEYWORD, FieldKind.TEXT, optional=True),
                    _traffic_is(TRAFFIC_TYPE_GOOGLE),
                ),
                _Step(
                    FieldSpec(OrderField.REFERRING_URL, FieldKind.URL, optional=True),
                    _traffic_is(TRAFFIC_TYPE_REFERRER),
                ),
            ]


def fields_for(service: Service) -> list[FieldSpec]:
    """Every question the service's type may ask, in order, before any answer."""
    return [step.spec for step in _steps(service)]


def _resolved(spec: FieldSpec, service: Service, answers: Answers) -> FieldSpec:
    if spec.kind is FieldKind.DRIPFEED_RUNS:
        return replace(spec, max_value=_runs_limit(service, answers))
    return spec


def _applicable(service: Service, answers: Answers) -> list[FieldSpec]:
    return [
        _resolved(step.spec, service, answers)
        for step in _steps(service)
        if step.applies(service, answers)
    ]


def _answered(spec: FieldSpec, answers: Answers) -> bool:
    # None stands for "skipped", which only an optional field can be.
    return spec.name in answers and (spec.optional or answers[spec.name] is not None)


def next_field(service: Service, answers: Answers) -> FieldSpec | None:
    """The next question to ask; None when the form is complete."""
    return next((s for s in _applicable(service, answers) if not _answered(s, answers)), None)


def previous_field(service: Service, answers: Answers) -> FieldSpec | None:
    """The last answered (or skipped) question, for Back; None at the first question."""
    answered = [s for s in _applicable(service, answers) if _answered(s, answers)]
    return answered[-1] if answered else None


def is_complete(service: Service, answers: Answers) -> bool:
    return next_field(service, answers) is None


def build_order(service: Service, answers: Answers) -> NewOrder:
    """The `add` request of a complete form; skipped and inapplicable answers are left out."""
    if not is_complete(service, answers):
        raise ValueError("the order form is not complete")
    fields = {
        spec.name: answers[spec.name]
        for spec in _applicable(service, answers)
        if answers[spec.name] is not None
    }
    return NewOrder(service=service.service, **fields)


_COUNTED_LIST = {
    ServiceType.CUSTOM_COMMENTS: OrderField.COMMENTS,
    ServiceType.MENTIONS_CUSTOM_LIST: OrderField.USERNAMES,
    ServiceType.COMMENT_REPLIES: OrderField.COMMENTS,
}


def order_quantity(service: Service, answers: Answers) -> int | None:
    """The priced quantity (per run for drip-feed); None for packages, Subscriptions or unasked."""
    kind = service.kind
    if kind in PACKAGE_KINDS or kind is ServiceType.SUBSCRIPTIONS:
        return None
    list_name = _COUNTED_LIST.get(kind)
    if list_name is not None:
        items = answers.get(list_name)
        return len(items) if isinstance(items, list) else None
    quantity = answers.get(OrderField.QUANTITY)
    return quantity if isinstance(quantity, int) else None


def price_for(service: Service, answers: Answers) -> Decimal | None:
    """The price of a complete form (see `pricing.order_price`), of what `build_order` sends:
    runs count only where the service (still) asks them."""
    asked = {spec.name for spec in _applicable(service, answers)}
    runs = answers.get(OrderField.RUNS) if OrderField.RUNS in asked else None
    return order_price(service, quantity=order_quantity(service, answers), runs=runs)


def quote_for(service: Service, answers: Answers, currency: str | None, made_at: float) -> Quote:
    """The quote of a complete form, to be shown for confirmation."""
    return Quote(
        service=service.service,
        rate=service.rate,
        price=price_for(service, answers),
        currency=currency,
        made_at=made_at,
    )


def parse_answer(
    spec: FieldSpec, service: Service, text: str, answers: Answers, *, today: date | None = None
) -> ParsedValue:
    """The value to store for `text`, or InvalidAnswer. `today` (UTC by default) is for tests."""
    text = text.strip()
    if not text:
        raise InvalidAnswer("empty")
    match spec.kind:
        case FieldKind.URL:
            return _parse_url(text)
        case FieldKind.QUANTITY | FieldKind.INTEGER:
            value = _parse_int(text, _bound(spec.min_value), _bound(spec.max_value))
            low = answers.get(OrderField.MIN)
            if spec.name is OrderField.MAX and isinstance(low, int) and value < low:
                raise InvalidAnswer("min_above_max", {"min": low, "max": value})
            return value
        case FieldKind.DRIPFEED_RUNS:
            return _parse_runs(text, service, answers)
        case FieldKind.CHOICE | FieldKind.DRIPFEED_INTERVAL:
            return _parse_choice(text, spec.choices or ())
        case FieldKind.DATE:
            return _parse_date(text, today or datetime.now(UTC).date())
        case FieldKind.LINES:
            return _parse_lines(spec, text)
        case FieldKind.TEXT:
            return _parse_text(spec, text)


def _bound(value: int | None) -> int:
    if value is None:
        raise ValueError("an integer field needs both bounds")
    return value


def _parse_url(text: str) -> str:
    if len(text) > MAX_URL_LENGTH:
        raise InvalidAnswer("url_too_long", {"max": MAX_URL_LENGTH})
    if any(char.isspace() or not char.isprintable() for char in text):
        raise InvalidAnswer("url_expected")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidAnswer("url_expected") from None
    # An explicit http(s) scheme is required: "example.com/x" is refused rather than guessed,
    # since panels disagree on what they make of a bare host.
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidAnswer("url_expected")
    return text


def _digits(text: str) -> int | None:
    """The number written in ASCII digits; None when it has more than MAX_DIGITS digits."""
    # str.isdigit() and int() would take "５０", "٣", "1_000" or " -5": only 0-9 is a number here.
    if not _DIGITS.fullmatch(text):
        raise InvalidAnswer("integer_expected")
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= MAX_DIGITS else None


def _parse_int(text: str, low: int, high: int) -> int:
    value = _digits(text)
    if value is None or not low <= value <= high:
        raise InvalidAnswer("out_of_range", {"min": low, "max": high})
    return value


def _parse_runs(text: str, service: Service, answers: Answers) -> int:
    quantity = answers.get(OrderField.QUANTITY)
    limit = _runs_limit(service, answers)
    if not isinstance(quantity, int) or limit is None:
        raise ValueError("runs is asked after the quantity")
    runs = _digits(text)
    if runs is None or runs < MIN_RUNS:
        raise InvalidAnswer("out_of_range", {"min": MIN_RUNS, "max": limit})
    if runs > limit:
        total = runs * quantity
        raise InvalidAnswer("dripfeed_total_too_big", {"max": service.max, "total": total})
    return runs


def _parse_choice(text: str, choices: tuple[int | str, ...]) -> int | str:
    for choice in choices:
        if str(choice) == text:
            return choice
    raise InvalidAnswer("not_a_choice", {"choices": list(choices)})


def _parse_date(text: str, today: date) -> str:
    match = _DATE.fullmatch(text)
    if match is None:
        raise InvalidAnswer("date_expected")
    day, month, year = (int(group) for group in match.groups())
    try:
        value = date(year, month, day)
    except ValueError:
        raise InvalidAnswer("date_expected") from None
    if value <= today:
        raise InvalidAnswer("date_in_past")
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def _parse_lines(spec: FieldSpec, text: str) -> list[str]:
    return finish_list(spec, _items(spec, text))


def _items(spec: FieldSpec, text: str) -> list[str]:
    lines = [
        (number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()
    ]
    if not lines:
        raise InvalidAnswer("empty")
    items = []
    for number, line in lines:
        if len(line) > MAX_LINE_LENGTH:
            raise InvalidAnswer("line_too_long", {"max": MAX_LINE_LENGTH, "line": number})
        items.append(_item(spec.name, line, {"line": number}))
    return items


def _count_error(spec: FieldSpec, count: int) -> InvalidAnswer:
    return InvalidAnswer(
        "lines_count",
        {"min": _bound(spec.min_value), "max": _bound(spec.max_value), "count": count},
    )


def may_continue(text: str) -> bool:
    """Whether a message may be one part of a longer text that Telegram split.

    Telegram sends a text over 4096 characters as several messages, each cut near the limit and
    at a line end where it can: every part but the last is longer than this. A shorter message
    ends the paste (or is a whole answer).
    """
    return len(text) >= LIST_PART_LENGTH


def add_list_part(spec: FieldSpec, collected: Sequence[str], text: str) -> list[str]:
    """The items collected so far for a list question, with one more message's appended.

    InvalidAnswer for a bad line (numbered within this message) or when the items would be more
    than the question allows; the items collected before are then unchanged.
    """
    items = [*collected, *_items(spec, text)]
    if len(items) > _bound(spec.max_value):
        raise _count_error(spec, len(items))
    return items


def finish_list(spec: FieldSpec, items: Sequence[str]) -> list[str]:
    """The answer to a list question once every part is in; InvalidAnswer for a wrong count."""
    low, high = _bound(spec.min_value), _bound(spec.max_value)
    if not low <= len(items) <= high:
        raise _count_error(spec, len(items))
    return list(items)


def _parse_text(spec: FieldSpec, text: str) -> str:
    if len(text.splitlines()) > 1:
        raise InvalidAnswer("single_line_expected")
    if spec.name in _USERNAME_FIELDS | _HASHTAG_FIELDS:
        return _item(spec.name, text, {})
    if len(text) > MAX_LINE_LENGTH:
        raise InvalidAnswer("text_too_long", {"max": MAX_LINE_LENGTH})
    return text


_USERNAME_FIELDS = frozenset({OrderField.USERNAME, OrderField.USERNAMES})
_HASHTAG_FIELDS = frozenset({OrderField.HASHTAG, OrderField.HASHTAGS})


def _item(field: OrderField, value: str, params: dict[str, Any]) -> str:
    """A username or hashtag as sent (without its @ or #); other fields' items as they are."""
    if field in _USERNAME_FIELDS:
        value = value.removeprefix("@")
        if not _USERNAME.fullmatch(value):
            raise InvalidAnswer("username_invalid", params)
    elif field in _HASHTAG_FIELDS:
        value = value.removeprefix("#")
        if not 0 < len(value) <= MAX_HASHTAG_LENGTH or not all(map(_hashtag_char, value)):
            raise InvalidAnswer("hashtag_invalid", params)
    return value


def _hashtag_char(char: str) -> bool:
    # Letters and digits of any script, underscore, and combining marks (Devanagari, Thai...);
    # punctuation, spaces and a second # end a hashtag on the networks, so they are refused.
    return char.isalnum() or char == "_" or unicodedata.category(char).startswith("M")
