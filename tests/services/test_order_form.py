import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from bot.domain import OrderField
from bot.panel.models import NewOrder, Service, ServiceType
from bot.services import order_form
from bot.services.order_form import (
    DRIPFEED_INTERVALS,
    ERROR_CODES,
    FieldKind,
    FieldSpec,
    InvalidAnswer,
    build_order,
    fields_for,
    is_complete,
    next_field,
    order_quantity,
    parse_answer,
    previous_field,
    price_for,
)
from bot.services.pricing import Quote
from bot.texts import FIELD_LABELS, FIELD_PROMPTS

TODAY = date(2030, 6, 15)


def service(
    type_: str = "Default",
    *,
    min_: int = 1,
    max_: int = 10000,
    dripfeed: bool = False,
    rate: str = "0.90",
) -> Service:
    return Service(
        service=7,
        name="x",
        type=type_,
        category="c",
        rate=Decimal(rate),
        min=min_,
        max=max_,
        refill=False,
        cancel=False,
        dripfeed=dripfeed,
        description="",
    )


def spec_named(svc: Service, name: str) -> FieldSpec:
    return next(spec for spec in fields_for(svc) if spec.name == name)


def parse(svc: Service, name: str, text: str, answers: dict[str, Any] | None = None) -> Any:
    return parse_answer(spec_named(svc, name), svc, text, answers or {}, today=TODAY)


def refused(
    svc: Service, name: str, text: str, answers: dict[str, Any] | None = None
) -> InvalidAnswer:
    with pytest.raises(InvalidAnswer) as caught:
        parse(svc, name, text, answers)
    assert caught.value.code in ERROR_CODES
    assert str(caught.value) == caught.value.code  # the user's text never travels in the error
    return caught.value


# What a user types for each question in the walks below.
TEXTS = {
    "link": "https://example.com/p/1",
    "quantity": "100",
    "runs": "5",
    "interval": "15",
    "comments": "nice\n\n  great  \nwow",
    "usernames": "@alice\nbob.b",
    "hashtags": "#cats\nкошки",
    "hashtag": "#sun",
    "username": "@carol",
    "media": "https://example.com/m/2",
    "answer_number": "3",
    "groups": "https://t.me/a\nhttps://t.me/b",
    "min": "100",
    "max": "200",
    "posts": "10",
    "old_posts": "5",
    "delay": "30",
    "expiry": "1/7/2030",
    "country": "US",
    "device": "2",
    "type_of_traffic": "1",
    "google_keyword": "buy shoes",
    "referring_url": "https://ref.example/",
}


def walk(
    svc: Service, skip: frozenset[str] = frozenset(), **texts: str
) -> tuple[list[str], dict[str, Any]]:
    """Answer every question the wizard asks, the way the handlers will; skip those in `skip`."""
    answers: dict[str, Any] = {}
    asked: list[str] = []
    while (spec := next_field(svc, answers)) is not None:
        assert len(asked) < 20, asked
        asked.append(spec.name)
        if spec.name in skip:
            assert spec.optional
            answers[spec.name] = None
        else:
            text = texts.get(spec.name, TEXTS[spec.name])
            answers[spec.name] = parse_answer(spec, svc, text, answers, today=TODAY)
    assert is_complete(svc, answers)
    assert json.loads(json.dumps(answers)) == answers  # the FSM storage keeps it as JSON
    return asked, answers


LINK = {"service": "7", "link": "https://example.com/p/1"}


@pytest.mark.parametrize(
    ("svc", "skip", "texts", "asked", "form"),
    [
        pytest.param(
            service(), set(), {}, ["link", "quantity"], {**LINK, "quantity": "100"}, id="default"
        ),
        pytest.param(
            service(dripfeed=True),
            set(),
            {},
            ["link", "quantity", "runs", "interval"],
            {**LINK, "quantity": "100", "runs": "5", "interval": "15"},
            id="default-dripfeed",
        ),
        pytest.param(
            service(dripfeed=True),
            {"runs"},
            {},
            ["link", "quantity", "runs"],
            {**LINK, "quantity": "100"},
            id="default-dripfeed-skipped",
        ),
        pytest.param(
            service("Some New Type", dripfeed=True),
            set(),
            {},
            ["link", "quantity", "runs", "interval"],
            {**LINK, "quantity": "100", "runs": "5", "interval": "15"},
            id="unknown-type-as-default",
        ),
        pytest.param(service("package"), set(), {}, ["link"], LINK, id="package-any-case"),
        pytest.param(
            service("Custom Comments", dripfeed=True),
            set(),
            {},
            ["link", "comments"],
            {**LINK, "comments": "nice\ngreat\nwow"},
            id="custom-comments",
        ),
        pytest.param(
            service("Custom Comments Package"),
            set(),
            {},
            ["link", "comments"],
            {**LINK, "comments": "nice\ngreat\nwow"},
            id="custom-comments-package",
        ),
        pytest.param(
            service("Mentions"),
            set(),
            {},
            ["link", "quantity", "usernames"],
            {**LINK, "quantity": "100", "usernames": "alice\nbob.b"},
            id="mentions",
        ),
        pytest.param(
            service("Mentions with Hashtags"),
            set(),
            {},
            ["link", "quantity", "usernames", "hashtags"],
            {**LINK, "quantity": "100", "usernames": "alice\nbob.b", "hashtags": "cats\nкошки"},
            id="mentions-with-hashtags",
        ),
        pytest.param(
            service("Mentions Custom List"),
            set(),
            {},
            ["link", "usernames"],
            {**LINK, "usernames": "alice\nbob.b"},
            id="mentions-custom-list",
        ),
        pytest.param(
            service("Mentions Hashtag"),
            set(),
            {},
            ["link", "quantity", "hashtag"],
            {**LINK, "quantity": "100", "hashtag": "sun"},
            id="mentions-hashtag",
        ),
        pytest.param(
            service("Mentions User Followers"),
            set(),
            {},
            ["link", "quantity", "username"],
            {**LINK, "quantity": "100", "username": "carol"},
            id="mentions-user-followers",
        ),
        pytest.param(
            service("Mentions Media Likers"),
            set(),
            {},
            ["link", "quantity", "media"],
            {**LINK, "quantity": "100", "media": "https://example.com/m/2"},
            id="mentions-media-likers",
        ),
        pytest.param(
            service("Comment Likes"),
            set(),
            {},
            ["link", "quantity", "username"],
            {**LINK, "quantity": "100", "username": "carol"},
            id="comment-likes",
        ),
        pytest.param(
            service("Comment Replies"),
            set(),
            {},
            ["link", "username", "comments"],
            {**LINK, "username": "carol", "comments": "nice\ngreat\nwow"},
            id="comment-replies",
        ),
        pytest.param(
            service("Poll"),
            set(),
            {},
            ["link", "quantity", "answer_number"],
            {**LINK, "quantity": "100", "answer_number": "3"},
            id="poll",
        ),
        pytest.param(
            service("Invites from Groups"),
            set(),
            {},
            ["link", "quantity", "groups"],
            {**LINK, "quantity": "100", "groups": "https://t.me/a\nhttps://t.me/b"},
            id="invites-from-groups",
        ),
        pytest.param(
            service("Subscriptions", dripfeed=True),
            set(),
            {},
            ["username", "min", "max", "posts", "old_posts", "delay", "expiry"],
            {
                "service": "7",
                "username": "carol",
                "min": "100",
                "max": "200",
                "posts": "10",
                "old_posts": "5",
                "delay": "30",
                "expiry": "01/07/2030",
            },
            id="subscriptions",
        ),
        pytest.param(
            service("Subscriptions"),
            {"posts", "old_posts", "expiry"},
            {"posts": "0"},
            ["username", "min", "max", "posts", "old_posts", "delay", "expiry"],
            {"service": "7", "username": "carol", "min": "100", "max": "200", "delay": "30"},
            id="subscriptions-skipped",
        ),
        pytest.param(
            service("Subscriptions"),
            set(),
            {"posts": "0", "delay": "0"},
            ["username", "min", "max", "posts", "old_posts", "delay", "expiry"],
            {
                "service": "7",
                "username": "carol",
                "min": "100",
                "max": "200",
                "posts": "0",
                "old_posts": "5",
                "delay": "0",
                "expiry": "01/07/2030",
            },
            id="subscriptions-zeros-are-answers",
        ),
        pytest.param(
            service("Web Traffic"),
            set(),
            {},
            [
                "link",
                "quantity",
                "runs",
                "interval",
                "country",
                "device",
                "type_of_traffic",
                "google_keyword",
            ],
            {
                **LINK,
                "quantity": "100",
                "runs": "5",
                "interval": "15",
                "country": "US",
                "device": "2",
                "type_of_traffic": "1",
                "google_keyword": "buy shoes",
            },
            id="web-traffic-google",
        ),
        pytest.param(
            service("Web Traffic"),
            {"runs", "country", "device"},
            {"type_of_traffic": "2"},
            ["link", "quantity", "runs", "country", "device", "type_of_traffic", "referring_url"],
            {
                **LINK,
                "quantity": "100",
                "type_of_traffic": "2",
                "referring_url": "https://ref.example/",
            },
            id="web-traffic-referrer",
        ),
        pytest.param(
            service("Web Traffic"),
            {"runs"},
            {"type_of_traffic": "3", "device": "5"},
            ["link", "quantity", "runs", "country", "device", "type_of_traffic"],
            {**LINK, "quantity": "100", "country": "US", "device": "5", "type_of_traffic": "3"},
            id="web-traffic-type-3",
        ),
        pytest.param(
            service("Web Traffic"),
            {"runs", "country", "device", "type_of_traffic"},
            {},
            ["link", "quantity", "runs", "country", "device", "type_of_traffic"],
            {**LINK, "quantity": "100"},
            id="web-traffic-all-skipped",
        ),
        pytest.param(
            service("Web Traffic"),
            {"google_keyword"},
            {},
            [
                "link",
                "quantity",
                "runs",
                "interval",
                "country",
                "device",
                "type_of_traffic",
                "google_keyword",
            ],
            {
                **LINK,
                "quantity": "100",
                "runs": "5",
                "interval": "15",
                "country": "US",
                "device": "2",
                "type_of_traffic": "1",
            },
            id="web-traffic-google-keyword-skipped",
        ),
    ],
)
def test_questions_and_order_per_type(
    svc: Service, skip: set[str], texts: dict[str, str], asked: list[str], form: dict[str, str]
) -> None:
    got_asked, answers = walk(svc, frozenset(skip), **texts)
    assert got_asked == asked
    assert build_order(svc, answers).to_form() == form
    listed = [spec.name for spec in fields_for(svc)]
    assert [name for name in listed if name in asked] == asked  # same order as fields_for


def test_fields_for_lists_every_possible_question_with_its_kind() -> None:
    web = {spec.name: spec for spec in fields_for(service("Web Traffic", min_=10, max_=500))}
    assert list(web) == [
        "link",
        "quantity",
        "runs",
        "interval",
        "country",
        "device",
        "type_of_traffic",
        "google_keyword",
        "referring_url",
    ]
    assert web["link"] == FieldSpec("link", FieldKind.URL)
    assert web["quantity"] == FieldSpec("quantity", FieldKind.QUANTITY, min_value=10, max_value=500)
    assert web["runs"] == FieldSpec("runs", FieldKind.DRIPFEED_RUNS, optional=True, min_value=2)
    assert web["interval"].kind is FieldKind.DRIPFEED_INTERVAL
    assert web["interval"].choices == (0, 5, 10, 15, 30, 60, 90)
    assert web["country"] == FieldSpec("country", FieldKind.TEXT, optional=True)
    assert web["device"].choices == (1, 2, 3, 4, 5)
    assert web["type_of_traffic"].choices == (1, 2, 3)
    assert web["google_keyword"] == FieldSpec("google_keyword", FieldKind.TEXT, optional=True)
    assert web["referring_url"] == FieldSpec("referring_url", FieldKind.URL, optional=True)
    # Everything after the quantity may be skipped, except an interval once runs were given.
    required = {name for name, spec in web.items() if not spec.optional}
    assert required == {"link", "quantity", "interval"}

    subs = {spec.name: spec for spec in fields_for(service("Subscriptions", min_=10, max_=500))}
    assert list(subs) == ["username", "min", "max", "posts", "old_posts", "delay", "expiry"]
    assert subs["min"] == FieldSpec("min", FieldKind.INTEGER, min_value=10, max_value=500)
    assert subs["max"] == FieldSpec("max", FieldKind.INTEGER, min_value=10, max_value=500)
    delays = (0, 5, 10, 15, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600)
    assert subs["delay"] == FieldSpec("delay", FieldKind.CHOICE, choices=delays)
    assert subs["expiry"] == FieldSpec("expiry", FieldKind.DATE, optional=True)
    assert subs["posts"].optional and subs["posts"].min_value == 0
    assert subs["old_posts"].optional and subs["old_posts"].min_value == 0
    assert not subs["username"].optional and subs["username"].kind is FieldKind.TEXT

    counted = fields_for(service("Custom Comments", min_=10, max_=1500))[1]
    assert counted == FieldSpec("comments", FieldKind.LINES, min_value=10, max_value=1500)
    free = fields_for(service("Mentions", min_=10, max_=1500))[2]
    assert free == FieldSpec("usernames", FieldKind.LINES, min_value=1, max_value=10_000)


def test_dripfeed_questions_only_for_dripfeed_default_services() -> None:
    assert [s.name for s in fields_for(service(dripfeed=False))] == ["link", "quantity"]
    assert [s.name for s in fields_for(service(dripfeed=True))] == [
        "link",
        "quantity",
        "runs",
        "interval",
    ]
    for type_ in ("Mentions", "Poll", "Comment Likes", "Package", "Subscriptions"):
        names = {s.name for s in fields_for(service(type_, dripfeed=True))}
        assert not names & {"runs", "interval"}, type_


def test_runs_spec_is_bounded_by_the_quantity_given() -> None:
    svc = service(min_=50, max_=1000, dripfeed=True)
    answers = {"link": TEXTS["link"], "quantity": 100}
    assert next_field(svc, answers) == FieldSpec(
        "runs", FieldKind.DRIPFEED_RUNS, optional=True, min_value=2, max_value=10
    )
    # 500 leaves room for exactly two runs.
    assert next_field(svc, {**answers, "quantity": 500}).max_value == 2


def test_runs_not_asked_when_two_runs_would_exceed_max() -> None:
    svc = service(min_=50, max_=1000, dripfeed=True)
    answers = {"link": TEXTS["link"], "quantity": 501}
    assert next_field(svc, answers) is None
    assert build_order(svc, answers).to_form() == {**LINK, "quantity": "501"}


def test_interval_asked_only_after_runs_and_then_required() -> None:
    svc = service(dripfeed=True)
    answers: dict[str, Any] = {"link": TEXTS["link"], "quantity": 100}
    assert next_field(svc, answers).name == "runs"
    assert next_field(svc, {**answers, "runs": None}) is None
    answers["runs"] = 3
    interval = next_field(svc, answers)
    assert interval.name == "interval" and not interval.optional
    assert interval.choices == DRIPFEED_INTERVALS
    # A None where an answer is required does not count as answered.
    assert next_field(svc, {**answers, "interval": None}) == interval
    assert next_field(svc, {"link": None}).name == "link"


def test_web_traffic_type_decides_the_last_question() -> None:
    svc = service("Web Traffic")
    answers: dict[str, Any] = {
        "link": TEXTS["link"],
        "quantity": 100,
        "runs": None,
        "country": None,
        "device": None,
    }
    assert next_field(svc, answers).name == "type_of_traffic"
    assert next_field(svc, {**answers, "type_of_traffic": 1}).name == "google_keyword"
    assert next_field(svc, {**answers, "type_of_traffic": 2}).name == "referring_url"
    assert next_field(svc, {**answers, "type_of_traffic": 3}) is None
    assert next_field(svc, {**answers, "type_of_traffic": None}) is None


def back(svc: Service, answers: dict[str, Any]) -> str:
    """What a Back button does: forget the previous answer and ask that question again."""
    spec = previous_field(svc, answers)
    assert spec is not None
    del answers[spec.name]
    assert next_field(svc, answers) == spec
    return spec.name


def test_back_walks_every_answered_question_in_reverse() -> None:
    svc = service(dripfeed=True)
    _, answers = walk(svc)
    assert [back(svc, answers) for _ in range(4)] == ["interval", "runs", "quantity", "link"]
    assert answers == {}
    assert previous_field(svc, answers) is None


def test_back_returns_to_a_skipped_question_but_not_to_one_never_asked() -> None:
    svc = service(dripfeed=True)
    _, answers = walk(svc, frozenset({"runs"}))
    assert back(svc, answers) == "runs"  # skipped: the user saw it; interval never was asked
    assert answers == {"link": TEXTS["link"], "quantity": 100}

    web = service("Web Traffic")
    _, answers = walk(web, frozenset({"runs", "device"}), type_of_traffic="2")
    assert [back(web, answers) for _ in range(4)] == [
        "referring_url",
        "type_of_traffic",
        "device",
        "country",
    ]
    assert back(web, answers) == "runs"  # interval was never asked


def test_back_then_another_traffic_type_changes_the_questions() -> None:
    svc = service("Web Traffic")
    _, answers = walk(svc)  # type 1 with a keyword
    assert back(svc, answers) == "google_keyword"
    assert back(svc, answers) == "type_of_traffic"
    answers["type_of_traffic"] = parse(svc, "type_of_traffic", "2")
    assert next_field(svc, answers).name == "referring_url"
    answers["referring_url"] = None
    assert is_complete(svc, answers)
    assert build_order(svc, answers).type_of_traffic == 2


def test_answers_that_no_longer_apply_are_ignored() -> None:
    svc = service("Web Traffic")
    _, answers = walk(svc, frozenset({"runs"}), type_of_traffic="3")
    stale = {**answers, "google_keyword": "old", "referring_url": "https://old.example/"}
    assert previous_field(svc, stale).name == "type_of_traffic"
    assert build_order(svc, stale).to_form() == build_order(svc, answers).to_form()
    assert "interval" not in build_order(svc, {**stale, "interval": 5}).to_form()


def test_build_order_refuses_an_incomplete_form() -> None:
    svc = service("Mentions")
    with pytest.raises(ValueError, match="not complete"):
        build_order(svc, {"link": TEXTS["link"], "quantity": 100})


def test_build_order_keeps_lists_as_lists() -> None:
    svc = service("Mentions with Hashtags")
    _, answers = walk(svc)
    order = build_order(svc, answers)
    assert order.usernames == ["alice", "bob.b"]
    assert order.hashtags == ["cats", "кошки"]
    assert order.quantity == 100


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        ("Default", 100),
        ("Web Traffic", 100),
        ("Mentions", 100),
        ("Custom Comments", 3),
        ("Comment Replies", 3),
        ("Mentions Custom List", 2),
        ("Package", None),
        ("Custom Comments Package", None),
        ("Subscriptions", None),
    ],
)
def test_order_quantity(type_: str, expected: int | None) -> None:
    svc = service(type_)
    _, answers = walk(svc)
    assert order_quantity(svc, answers) == expected
    assert order_quantity(svc, {}) is None


@pytest.mark.parametrize(
    ("svc", "texts", "expected"),
    [
        (service(dripfeed=True, rate="0.90"), {}, Decimal("0.45")),
        (service(dripfeed=True, rate="0.90"), {"runs": "2"}, Decimal("0.18")),
        (service("Custom Comments", rate="8"), {}, Decimal("0.024")),
        (service("Package", rate="12.50"), {}, Decimal("12.5")),
        (service("Web Traffic", rate="1"), {"runs": "3"}, Decimal("0.3")),
        (service("Subscriptions", rate="5"), {}, None),
    ],
)
def test_price_for_a_filled_form(svc: Service, texts: dict[str, str], expected: Decimal) -> None:
    _, answers = walk(svc, **texts)
    assert price_for(svc, answers) == expected


# --- validators -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://example.com/x", "https://example.com/x"),
        ("http://t.me/channel", "http://t.me/channel"),
        ("  https://example.com/a?b=c#d \n", "https://example.com/a?b=c#d"),
        ("HTTPS://EXAMPLE.COM", "HTTPS://EXAMPLE.COM"),
        ("https://пример.рф/путь", "https://пример.рф/путь"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/" + "a" * 1980, "https://example.com/" + "a" * 1980),
    ],
)
def test_url_accepted(text: str, expected: str) -> None:
    assert parse(service(), "link", text) == expected
    assert parse(service("Mentions Media Likers"), "media", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "example.com/x",  # no scheme: refused, not guessed
        "t.me/channel",
        "www.example.com",
        "//example.com/x",
        "ftp://example.com/file",
        "javascript:alert(1)",
        "mailto:a@example.com",
        "data:text/html,hi",
        "http://",
        "https://",
        "http:///path",
        "http://:80/",
        "http://user@/",
        "https://exa mple.com",
        "https://example.com/a b",
        "https://example.com/a\tb",
        "https://example.com/\u200b",
        "https://example.com/\x00",
        "http://[::1",
        "http://example.com:99999/",
        "1e3",
    ],
)
def test_url_refused(text: str) -> None:
    assert refused(service(), "link", text).code == "url_expected"
    web = service("Web Traffic")
    assert refused(web, "referring_url", text).code == "url_expected"


@pytest.mark.parametrize("length", [2001, 1_000_000])
def test_url_too_long(length: int) -> None:
    text = "https://example.com/" + "a" * (length - 20)
    error = refused(service(), "link", text)
    assert (error.code, error.params) == ("url_too_long", {"max": 2000})


@pytest.mark.parametrize(
    ("svc", "name"),
    [(service(dripfeed=True), name) for name in ("link", "quantity")]
    + [(service("Custom Comments"), "comments"), (service("Comment Replies"), "username")]
    + [(service("Mentions Hashtag"), "hashtag"), (service("Poll"), "answer_number")]
    + [(service("Subscriptions"), name) for name in ("min", "delay", "expiry", "posts")]
    + [(service("Web Traffic"), name) for name in ("country", "device", "google_keyword")],
)
@pytest.mark.parametrize("text", ["", "   ", "\n\n", " \t\r\n ", "\u00a0\u2003"])
def test_blank_answers_are_empty(svc: Service, name: str, text: str) -> None:
    assert refused(svc, name, text, {"quantity": 100}).code == "empty"


def test_blank_runs_are_empty() -> None:
    svc = service(dripfeed=True)
    assert refused(svc, "runs", "  \n", {"quantity": 100}).code == "empty"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("50", 50), ("10000", 10000), (" 100 \n", 100), ("0100", 100), ("1234", 1234)],
)
def test_quantity_accepted(text: str, expected: int) -> None:
    value = parse(service(min_=50, max_=10000), "quantity", text)
    assert value == expected and type(value) is int


NOT_INTEGERS = [
    "1e3",
    "-5",
    "+5",
    "5.5",
    "5.0",
    "5,0",
    "1 000",
    "1\u2009000",
    "1_000",
    "1,000",
    "５０",
    "٣",
    "٣٠٠",
    "²",
    "½",
    "0x10",
    "10k",
    "abc",
    "100 pcs",
    "1\n2",
    "∞",
]


@pytest.mark.parametrize("text", NOT_INTEGERS)
def test_integers_refuse_anything_but_ascii_digits(text: str) -> None:
    assert refused(service(min_=1), "quantity", text).code == "integer_expected"
    assert refused(service("Poll"), "answer_number", text).code == "integer_expected"
    subs = service("Subscriptions")
    assert refused(subs, "min", text).code == "integer_expected"
    assert refused(subs, "posts", text).code == "integer_expected"
    drip = service(dripfeed=True)
    assert refused(drip, "runs", text, {"quantity": 100}).code == "integer_expected"


@pytest.mark.parametrize("text", ["49", "10001", "0", "9" * 13, "9" * 30, "1" * 100_000])
def test_quantity_out_of_range(text: str) -> None:
    error = refused(service(min_=50, max_=10000), "quantity", text)
    assert (error.code, error.params) == ("out_of_range", {"min": 50, "max": 10000})


def test_a_zero_minimum_still_needs_one_unit() -> None:
    error = refused(service(min_=0, max_=10), "quantity", "0")
    assert error.params == {"min": 1, "max": 10}


def test_poll_answer_number_bounds() -> None:
    svc = service("Poll")
    assert parse(svc, "answer_number", "4") == 4
    for text in ("0", "101"):
        error = refused(svc, "answer_number", text)
        assert (error.code, error.params) == ("out_of_range", {"min": 1, "max": 100})


def test_subscription_min_max_and_posts() -> None:
    svc = service("Subscriptions", min_=50, max_=1000)
    assert parse(svc, "min", "100") == 100
    assert parse(svc, "max", "100", {"min": 100}) == 100
    error = refused(svc, "max", "99", {"min": 100})
    assert (error.code, error.params) == ("min_above_max", {"min": 100, "max": 99})
    error = refused(svc, "max", "1001", {"min": 100})
    assert (error.code, error.params) == ("out_of_range", {"min": 50, "max": 1000})
    assert refused(svc, "min", "49").code == "out_of_range"
    assert parse(svc, "posts", "0") == 0  # 0 means old posts only
    assert parse(svc, "old_posts", "0") == 0
    error = refused(svc, "posts", "100001")
    assert (error.code, error.params) == ("out_of_range", {"min": 0, "max": 100_000})


@pytest.mark.parametrize(("text", "expected"), [("2", 2), ("10", 10), (" 05 ", 5)])
def test_runs_accepted(text: str, expected: int) -> None:
    svc = service(min_=50, max_=1000, dripfeed=True)
    assert parse(svc, "runs", text, {"quantity": 100}) == expected


@pytest.mark.parametrize("text", ["0", "1", "9" * 30])
def test_runs_below_two_or_absurd(text: str) -> None:
    svc = service(min_=50, max_=1000, dripfeed=True)
    error = refused(svc, "runs", text, {"quantity": 100})
    assert (error.code, error.params) == ("out_of_range", {"min": 2, "max": 10})


@pytest.mark.parametrize(("text", "total"), [("11", 1100), ("999999999999", 99999999999900)])
def test_runs_times_quantity_bounded_by_service_max(text: str, total: int) -> None:
    svc = service(min_=50, max_=1000, dripfeed=True)
    error = refused(svc, "runs", text, {"quantity": 100})
    assert (error.code, error.params) == ("dripfeed_total_too_big", {"max": 1000, "total": total})
    web = service("Web Traffic", min_=50, max_=1000)
    assert refused(web, "runs", text, {"quantity": 100}).code == "dripfeed_total_too_big"


def test_runs_cannot_be_parsed_before_the_quantity() -> None:
    with pytest.raises(ValueError, match="after the quantity"):
        parse(service(dripfeed=True), "runs", "3", {})


@pytest.mark.parametrize(
    ("svc", "name", "good", "bad"),
    [
        (service(dripfeed=True), "interval", {"0": 0, "15": 15, "90": 90}, ["1", "120", "abc"]),
        (service("Subscriptions"), "delay", {"0": 0, "360": 360, "600": 600}, ["20", "700"]),
        (service("Web Traffic"), "device", {"1": 1, " 5 ": 5}, ["0", "6", "desktop", "1.0"]),
        (service("Web Traffic"), "type_of_traffic", {"1": 1, "3": 3}, ["0", "4", "01", "-1"]),
    ],
)
def test_choices(svc: Service, name: str, good: dict[str, int], bad: list[str]) -> None:
    answers = {"quantity": 100, "runs": 2}
    for text, expected in good.items():
        value = parse(svc, name, text, answers)
        assert value == expected and type(value) is int
    choices = list(spec_named(svc, name).choices or ())
    for text in [*bad, "1e3", "５", "9" * 30]:
        error = refused(svc, name, text, answers)
        assert (error.code, error.params) == ("not_a_choice", {"choices": choices})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16/06/2030", "16/06/2030"),
        ("1/7/2030", "01/07/2030"),
        (" 31/12/2099 ", "31/12/2099"),
        ("29/02/2032", "29/02/2032"),
    ],
)
def test_expiry_accepted(text: str, expected: str) -> None:
    assert parse(service("Subscriptions"), "expiry", text) == expected


@pytest.mark.parametrize("text", ["15/06/2030", "14/06/2030", "01/01/2000", "31/12/0001"])
def test_expiry_today_or_before_is_past(text: str) -> None:
    assert refused(service("Subscriptions"), "expiry", text).code == "date_in_past"


@pytest.mark.parametrize(
    "text",
    [
        "2030-07-01",
        "07/01/30",
        "1.7.2030",
        "31/02/2031",
        "29/02/2031",
        "00/01/2031",
        "1/13/2031",
        "1/0/2031",
        "001/01/2031",
        "1//2031",
        "tomorrow",
        "１/１/２０３１",
        "1/1/2031 10:00",
        "1/1/20311",
        "9" * 100_000,
    ],
)
def test_expiry_malformed(text: str) -> None:
    assert refused(service("Subscriptions"), "expiry", text).code == "date_expected"


def test_expiry_defaults_to_the_real_today() -> None:
    svc = service("Subscriptions")
    spec = spec_named(svc, "expiry")
    assert parse_answer(spec, svc, "1/1/2999", {}) == "01/01/2999"
    with pytest.raises(InvalidAnswer, match="date_in_past"):
        parse_answer(spec, svc, "1/1/2000", {})


def test_counted_lines() -> None:
    svc = service("Custom Comments", min_=2, max_=5)
    assert parse(svc, "comments", "a\nb") == ["a", "b"]
    assert parse(svc, "comments", "\n  a  \r\n\n b 🎉 \n") == ["a", "b 🎉"]
    assert parse(svc, "comments", "Привет!\n" * 5) == ["Привет!"] * 5
    for text, count in [("only one", 1), ("1\n2\n3\n4\n5\n6", 6), ("x\n" * 100_000, 100_000)]:
        error = refused(svc, "comments", text)
        assert (error.code, error.params) == ("lines_count", {"min": 2, "max": 5, "count": count})


def test_lines_too_long_name_the_line_as_sent() -> None:
    svc = service("Custom Comments", min_=1, max_=5)
    assert parse(svc, "comments", "a\n" + "x" * 500) == ["a", "x" * 500]
    error = refused(svc, "comments", "a\n\n" + "x" * 501 + "\nb")
    assert (error.code, error.params) == ("line_too_long", {"max": 500, "line": 3})
    error = refused(svc, "comments", "y" * 1_000_000)
    assert (error.code, error.params) == ("line_too_long", {"max": 500, "line": 1})


def test_free_lists_have_their_own_bound() -> None:
    svc = service("Invites from Groups", max_=10)
    groups = "\n".join(f"group{i}" for i in range(50))
    assert len(parse(svc, "groups", groups)) == 50  # not bounded by the service's quantity
    error = refused(svc, "groups", "g\n" * 10_001)
    assert error.params == {"min": 1, "max": 10_000, "count": 10_001}


def test_usernames_list() -> None:
    svc = service("Mentions")
    assert parse(svc, "usernames", "@alice\nbob_1\n\nc.d\nA" + "a" * 63) == [
        "alice",
        "bob_1",
        "c.d",
        "A" + "a" * 63,
    ]
    for text, line in [
        ("alice\nbad name", 2),
        ("@", 1),
        ("ok\n\n@@alice", 3),
        ("алиса", 1),
        ("a" * 65, 1),
        ("al!ce", 1),
        ("https://instagram.com/alice", 1),
    ]:
        error = refused(svc, "usernames", text)
        assert (error.code, error.params) == ("username_invalid", {"line": line}), text


def test_username_single() -> None:
    svc = service("Comment Likes")
    assert parse(svc, "username", " @carol ") == "carol"
    assert parse(svc, "username", "Carol.Smith_2") == "Carol.Smith_2"
    for text in ("carol smith", "@", "кэрол", "a" * 65, "x" * 1_000_000):
        error = refused(svc, "username", text)
        assert (error.code, error.params) == ("username_invalid", {}), text[:20]
    assert refused(svc, "username", "carol\nbob").code == "single_line_expected"


def test_hashtags_list() -> None:
    svc = service("Mentions with Hashtags")
    assert parse(svc, "hashtags", "#cats\nкошки\n#日本\n#नमस्ते\n#a_1") == [
        "cats",
        "кошки",
        "日本",
        "नमस्ते",
        "a_1",
    ]
    for text, line in [
        ("#cats dogs", 1),
        ("ok\n#", 2),
        ("cats#dogs", 1),
        ("##cats", 1),
        ("#a-b", 1),
        ("#cats!", 1),
        ("#" + "a" * 101, 1),
        ("#🐱", 1),
    ]:
        error = refused(svc, "hashtags", text)
        assert (error.code, error.params) == ("hashtag_invalid", {"line": line}), text


def test_hashtag_single() -> None:
    svc = service("Mentions Hashtag")
    assert parse(svc, "hashtag", "#sun") == "sun"
    assert parse(svc, "hashtag", "солнце") == "солнце"
    for text in ("sun moon", "#", "#sun,moon"):
        error = refused(svc, "hashtag", text)
        assert (error.code, error.params) == ("hashtag_invalid", {})
    assert refused(svc, "hashtag", "#sun\n#moon").code == "single_line_expected"


def test_free_text() -> None:
    svc = service("Web Traffic")
    assert parse(svc, "country", " United States ") == "United States"
    assert parse(svc, "google_keyword", "buy red shoes") == "buy red shoes"
    assert parse(svc, "google_keyword", "k" * 500) == "k" * 500
    error = refused(svc, "google_keyword", "k" * 501)
    assert (error.code, error.params) == ("text_too_long", {"max": 500})
    assert refused(svc, "country", "US\nUK").code == "single_line_expected"


def test_error_codes_are_documented() -> None:
    doc = order_form.__doc__ or ""
    for code in ERROR_CODES:
        assert f"- {code}" in doc or f", {code}:" in doc, code


def test_field_names_are_one_enum_for_the_form_the_texts_and_the_request() -> None:
    every_type = [service(kind.value, dripfeed=True) for kind in ServiceType]
    asked = {spec.name for svc in every_type for spec in fields_for(svc)}
    assert asked == set(OrderField)
    assert set(NewOrder.model_fields) == {"service", *OrderField}
    assert set(FIELD_PROMPTS) == set(FIELD_LABELS) == set(OrderField)


def test_new_order_refuses_a_field_it_does_not_know() -> None:
    with pytest.raises(ValidationError, match="comment_list"):
        NewOrder(service=1, link="https://x.com/p", comment_list=["hi"])  # type: ignore[call-arg]


def test_a_list_in_parts_is_collected_then_counted_as_a_whole() -> None:
    spec = next(
        s for s in fields_for(service("Custom Comments", min_=3, max_=5)) if s.name == "comments"
    )
    items = order_form.add_list_part(spec, [], "one\n\ntwo")
    assert items == ["one", "two"]
    with pytest.raises(InvalidAnswer) as few:
        order_form.finish_list(spec, items)
    assert (few.value.code, few.value.params["count"]) == ("lines_count", 2)
    items = order_form.add_list_part(spec, items, "three")
    assert order_form.finish_list(spec, items) == ["one", "two", "three"]
    with pytest.raises(InvalidAnswer) as many:
        order_form.add_list_part(spec, items, "4\n5\n6")
    assert (many.value.code, many.value.params["count"]) == ("lines_count", 6)
    with pytest.raises(InvalidAnswer) as bad:
        order_form.add_list_part(spec, items, "ok\n" + "x" * 501)
    assert (bad.value.code, bad.value.params["line"]) == ("line_too_long", 2)  # within the part
    with pytest.raises(InvalidAnswer, match="empty"):
        order_form.add_list_part(spec, items, " \n ")


def test_only_a_message_near_telegrams_limit_may_be_followed_by_more_parts() -> None:
    assert not order_form.may_continue("x" * (order_form.LIST_PART_LENGTH - 1))
    assert order_form.may_continue("x" * order_form.LIST_PART_LENGTH)
    assert order_form.may_continue("x" * 4096)


def test_a_quote_survives_json_as_the_fsm_keeps_it() -> None:
    svc = service("Default", rate="0.0123")
    quote = order_form.quote_for(svc, {"link": TEXTS["link"], "quantity": 10}, "USD", 1.5)
    kept = json.loads(json.dumps(quote.model_dump(mode="json")))
    assert Quote.model_validate(kept) == quote
    assert quote.price == Decimal("0.000123")
    dearer = order_form.quote_for(
        service("Default", rate="0.0124"), {"link": TEXTS["link"], "quantity": 10}, None, 9.0
    )
    assert not dearer.same_terms(quote)
    assert quote.model_copy(update={"made_at": 9.0, "currency": None}).same_terms(quote)


def test_runs_no_longer_asked_are_not_priced() -> None:
    answers = {"link": TEXTS["link"], "quantity": 100, "runs": 3, "interval": 15}
    assert price_for(service("Default", dripfeed=True), answers) == Decimal("0.27")
    # The panel turned drip-feed off: the order would go without runs, and is priced so.
    assert price_for(service("Default", dripfeed=False), answers) == Decimal("0.09")
    assert build_order(service("Default", dripfeed=False), answers).runs is None
