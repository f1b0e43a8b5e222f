"""Outside text into Telegram HTML: escaped after shortening, whole messages cut only between
tags and entities."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from bot.views.markup import ELLIPSIS, escaped, fit, shorten, visible_length


class _Visible(HTMLParser):
    """The text Telegram shows, and the tags left open (none when the markup is whole)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text += data


def parse(markup: str) -> _Visible:
    parser = _Visible()
    parser.feed(markup)
    parser.close()
    return parser


def test_escaped_shortens_before_escaping() -> None:
    assert escaped("a<b>&c", 100) == "a&lt;b&gt;&amp;c"
    # Cut as plain text: an entity is never split, and the visible length is the limit.
    assert escaped("&&&&&&", 4) == "&amp;&amp;&amp;" + ELLIPSIS
    assert parse(escaped("<" * 50, 10)).text == "<" * 9 + ELLIPSIS
    assert escaped(12, 5) == "12"


def test_shorten_keeps_short_text() -> None:
    assert shorten("abc", 3) == "abc"
    assert shorten("abcd", 3) == "ab" + ELLIPSIS


def test_visible_length_counts_entities_as_one_and_astral_characters_as_two() -> None:
    assert visible_length("<b>a&amp;b</b>\n") == 4
    assert visible_length("🔔x") == 3  # Telegram counts UTF-16 code units


def test_fit_leaves_a_fitting_message_alone() -> None:
    text = "<b>" + "x" * 4000 + "</b>"
    assert fit(text) == text


@pytest.mark.parametrize("filler", ["x", "&amp;", "🔔", "<i>y</i>"])
def test_fit_cuts_between_tags_and_entities_and_closes_them(filler: str) -> None:
    text = "<b>Title</b>\n<a href='https://e.example/'>" + filler * 5000 + "</a> tail"
    cut = fit(text, 100)
    shown = parse(cut)
    assert shown.open == []
    assert shown.text.startswith("Title\n") and shown.text.endswith(ELLIPSIS)
    assert visible_length(cut) <= 100
    assert cut.endswith("</a>")
