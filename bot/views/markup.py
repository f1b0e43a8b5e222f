"""Telegram HTML that Telegram accepts, whatever the panel or the person sent.

Every string from outside (panel names, statuses, errors, currencies; a person's links and
answers) enters a message through `escaped()`: shortened as plain text first, then escaped, so an
entity is never cut and markup never gets in. `fit()` is the last guard of a whole message:
it keeps the visible text within Telegram's limit, cutting only between tags and entities and
closing what it leaves open.
"""

from __future__ import annotations

import re
from enum import IntEnum
from html import escape

MESSAGE_LIMIT = 4096  # visible characters of a message, after entity parsing
CALLBACK_ANSWER_LIMIT = 200  # text of an answer to a button press (a toast or an alert)
BUTTON_LIMIT = 64  # an inline button's label: longer ones are cut off on screens anyway

ELLIPSIS = "…"


class Limit(IntEnum):
    """How much of an outside string a message shows: enough to recognise it, small enough
    that every screen fits with its IDs, amounts, prices and statuses whole."""

    NAME = 200  # a service's, a category's or a person's name
    LINK = 1000  # a link, or another answer given with an order
    ITEM = 200  # one line of a list answer
    STATUS = 64  # a status or a service type the bot has no label for
    PANEL_TEXT = 500  # a panel's error message
    CURRENCY = 10
    DESCRIPTION = 1500
    LISTED = 80  # a name or a link in a listing of many


_TOKEN = re.compile(r"<[^>]*>|&[#\w]+;|[^<&]+|[<&]")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][\w-]*)")


def shorten(value: str, limit: int) -> str:
    """Plain text of at most `limit` characters; a cut one ends with an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def escaped(value: object, limit: int) -> str:
    """Outside text as HTML: shortened to `limit` visible characters, then escaped."""
    return escape(shorten(str(value), limit), quote=False)


def _units(plain: str) -> int:
    # Telegram counts UTF-16 code units: an emoji outside the BMP is two.
    return len(plain.encode("utf-16-le")) // 2


def visible_length(markup: str) -> int:
    """The length Telegram counts: the text without tags, an entity counted as one."""
    length = 0
    for token in _TOKEN.findall(markup):
        if token.startswith("<") and len(token) > 1:
            continue
        length += 1 if token.startswith("&") and len(token) > 1 else _units(token)
    return length


def fit(markup: str, limit: int = MESSAGE_LIMIT) -> str:
    """`markup` whole when Telegram takes it, else cut to `limit` visible characters.

    The cut falls between tags and entities (or inside plain text), ends with an ellipsis, and
    the tags it leaves open are closed, so Telegram still parses the result.
    """
    if visible_length(markup) <= limit:
        return markup
    room = limit - 1  # for the ellipsis
    parts: list[str] = []
    open_tags: list[str] = []
    for token in _TOKEN.findall(markup):
        if token.startswith("<") and len(token) > 1:
            name = _TAG_NAME.match(token)
            if name is None:
                continue
            if token.startswith("</"):
                if open_tags and open_tags[-1] == name.group(1).lower():
                    open_tags.pop()
            else:
                open_tags.append(name.group(1).lower())
            parts.append(token)
            continue
        size = 1 if token.startswith("&") and len(token) > 1 else _units(token)
        if size <= room:
            parts.append(token)
            room -= size
            continue
        if not token.startswith("&"):
            parts.append(_cut_units(token, room))
        break
    parts.append(ELLIPSIS)
    parts.extend(f"</{name}>" for name in reversed(open_tags))
    return "".join(parts)


def _cut_units(plain: str, room: int) -> str:
    """The longest start of `plain` of at most `room` UTF-16 units (never half a character)."""
    taken = 0
    for index, char in enumerate(plain):
        taken += _units(char)
        if taken > room:
            return plain[:index]
    return plain
