"""What Telegram refuses, with its descriptions: the fake is as strict as the real Bot API, so that
a message the fake accepts is one Telegram accepts too.

- text 1-4096 and captions 0-1024 characters after entity parsing;
- valid HTML of the tags Telegram knows (``<``/``&`` escaped, tags closed in order);
- callback_data 1-64 bytes; keyboards as arrays of arrays of buttons, each with one action.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
# A "<" that opens no tag, an "&" that starts no entity: Telegram wants both escaped.
_STRAY_LT = re.compile(r"<(?![a-zA-Z/])")
_STRAY_AMP = re.compile(r"&(?!(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)")
# Inline buttons need exactly one of these besides their text.
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_URL_SCHEMES = ("http://", "https://", "tg://")
_BUTTON_ERROR = "can't parse inline keyboard button"


class ApiError(Exception):
    """A Bot API error answer: HTTP status ``code`` and Telegram's ``description``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def _entities_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


class _TelegramHTML(HTMLParser):
    """Checks markup the way Telegram's HTML parse mode does and extracts the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{tag}"')
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            raise _entities_error('Unsupported start tag "span"')
        self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise _entities_error(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags[-1] != tag:
            raise _entities_error(f'Unmatched end tag "{tag}"')
        self.open_tags.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _visible(text: str, parse_mode: Any) -> str:
    if not (isinstance(parse_mode, str) and parse_mode.lower() == "html"):
        return text
    for pattern, problem in (
        (_STRAY_LT, "Unexpected end of name token"),
        (_STRAY_AMP, "Character '&' must be escaped"),
    ):
        stray = pattern.search(text)
        if stray is not None:
            raise _entities_error(f"{problem} at byte offset {_byte_offset(text, stray.start())}")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.open_tags:
        tag = parser.open_tags[-1]
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{tag}"')
    return "".join(parser.parts)


def render_text(text: Any, parse_mode: Any) -> str:
    """The text of a message as a person sees it; raises Telegram's errors for bad text."""
    if not isinstance(text, str) or not text.strip():
        raise bad_request("message text is empty")
    visible = _visible(text, parse_mode)
    if not visible.strip():
        raise bad_request("message text is empty")
    if len(visible) > MAX_TEXT:
        raise bad_request("message is too long")
    return visible


def render_caption(caption: Any, parse_mode: Any) -> str:
    """A media caption as a person sees it ("" when none); raises Telegram's errors."""
    if caption is None:
        return ""
    if not isinstance(caption, str):
        raise bad_request("can't parse caption")
    visible = _visible(caption, parse_mode)
    if len(visible) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return visible


def check_reply_markup(markup: Any) -> None:
    """Refuse a reply_markup Telegram would refuse (shape, button actions, callback data)."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        for button in _rows(markup["inline_keyboard"], "inline_keyboard", "InlineKeyboardMarkup"):
            _check_inline_button(button)
    elif "keyboard" in markup:
        for button in _rows(markup["keyboard"], "keyboard", "ReplyKeyboardMarkup"):
            if isinstance(button, str):
                continue
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request('can\'t parse keyboard button: Field "text" must be a String')
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise bad_request("can't parse reply keyboard markup JSON object")


def _rows(rows: Any, field: str, kind: str) -> list[Any]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{field}" of the {kind} should be an Array of Arrays')
    return [button for row in rows for button in row]


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(f"{_BUTTON_ERROR}: InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str) or not text:
        raise bad_request(f'{_BUTTON_ERROR}: Field "text" must be of type String')
    actions = _BUTTON_ACTIONS & button.keys()
    if not actions:
        raise bad_request(f"{_BUTTON_ERROR}: Text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    if "callback_data" in button and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if "url" in button and not (isinstance(url, str) and url.startswith(_URL_SCHEMES)):
        raise bad_request("BUTTON_URL_INVALID")
