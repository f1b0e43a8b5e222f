"""Telegram's HTML subset turned into a tree the page builds DOM nodes from.

The page never parses markup itself nor uses innerHTML: it gets text strings and the few
element kinds below, so whatever the panel or a person wrote can only ever show as text.
A node is a string (text) or ``{"tag": kind, "children": [...]}`` (plus ``href`` for links).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

# Telegram's tags, by the element the page draws for each.
_KINDS = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "code": "code",
    "pre": "pre",
    "a": "a",
    "blockquote": "blockquote",
    "tg-spoiler": "spoiler",
    "tg-emoji": "span",
}
_LINK_SCHEMES = ("http://", "https://", "tg://")

Node = str | dict[str, Any]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: list[Node] = []
        self._stack: list[list[Node]] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        kind = _KINDS.get(tag)
        if tag == "span" and values.get("class") == "tg-spoiler":
            kind = "spoiler"
        node: dict[str, Any] = {"tag": kind or "span", "children": []}
        href = values.get("href") or ""
        if kind == "a" and href.startswith(_LINK_SCHEMES):
            node["href"] = href
        self._stack[-1].append(node)
        self._stack.append(node["children"])

    def handle_endtag(self, tag: str) -> None:
        if len(self._stack) > 1:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        self._stack[-1].append(data)


def to_nodes(text: str, parse_mode: str | None) -> list[Node]:
    """The message as the page shows it; text without HTML parse mode stays one string."""
    if not (parse_mode and parse_mode.lower() == "html"):
        return [text]
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root
