"""In-process fake of the Telegram Bot API HTTP server.

The real aiogram ``Bot`` talks to it over HTTP (``TelegramAPIServer.from_base(fake.base_url)``),
so end-to-end tests exercise aiogram's real serialisation, parsing and error mapping. The fake
keeps what a person would see in each chat, records every call, feeds updates through real long
polling and can inject the failures Telegram produces (429, 403, 5xx, dropped connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:fake-token-for-tests"

# Form fields aiogram sends as plain strings; every other field is JSON-encoded by aiogram
# (numbers, booleans, objects), so decoding these would turn the text "42" into an int.
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "language_code",
        "url",
        "action",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "description",
        "short_description",
        "name",
        "title",
        "secret_token",
        "ip_address",
        "emoji",
    }
)
# Telegram leaves these out unless the bot asks for them in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Message-producing methods the optional rate limiter counts (edits and chat actions are not
# part of Telegram's "messages per second" limits).
_RATE_LIMITED = frozenset({"sendmessage", "copymessage", "forwardmessage"})
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
_MAX_TEXT = 4096
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


@dataclass
class RecordedCall:
    """One Bot API request; ``error_code`` is None on success and 0 for a dropped connection.

    Calls are recorded once answered, except getUpdates, recorded on arrival.
    """

    method: str
    params: dict[str, Any]
    time: float
    error_code: int | None = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int) else None


@dataclass
class ChatMessage:
    """A message as a person sees it in the chat (``text`` rendered, HTML tags removed)."""

    message_id: int
    from_bot: bool
    text: str
    date: int
    raw_text: str
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    edit_date: int | None = None
    deleted: bool = False

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline buttons, row after row."""
        if not self.reply_markup:
            return []
        return [button for row in self.reply_markup.get("inline_keyboard", []) for button in row]

    def button(self, text: str) -> dict[str, Any]:
        """The inline button labelled ``text`` (exactly, or else the only label containing it)."""
        exact = [b for b in self.buttons if b.get("text") == text]
        found = exact or [b for b in self.buttons if text in b.get("text", "")]
        if len(found) != 1:
            labels = [b.get("text") for b in self.buttons]
            raise LookupError(f"{len(found)} buttons match {text!r}; buttons: {labels}")
        return found[0]


class _ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class _Fault:
    method: str
    chat_id: int | None
    remaining: int
    error_code: int  # 0 means "drop the connection"
    description: str
    retry_after: int | None
    after_processing: bool = False


@dataclass
class _Chat:
    chat_id: int
    first_name: str = "Test"
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    reply_keyboard: dict[str, Any] | None = None


def _entities_error(detail: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: can't parse entities: {detail}")


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


def _render(text: Any, parse_mode: str | None) -> str:
    """The text a person sees; raises the errors Telegram gives for bad text."""
    if not isinstance(text, str) or not text.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    visible = text
    if parse_mode and parse_mode.lower() == "html":
        parser = _TelegramHTML()
        parser.feed(text)
        parser.close()
        if parser.open_tags:
            tag = parser.open_tags[-1]
            raise _entities_error(f'Can\'t find end tag corresponding to start tag "{tag}"')
        visible = "".join(parser.parts)
        if not visible.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
    if len(visible) > _MAX_TEXT:
        raise _ApiError(400, "Bad Request: message is too long")
    return visible


def _decode(key: str, value: Any) -> Any:
    if isinstance(value, web.FileField):
        return {"filename": value.filename, "content_type": value.content_type}
    if not isinstance(value, str) or key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


class _PlainHttpSession(AiohttpSession):
    """aiogram's session, minus the 0.25 s pause its ``close`` keeps for TLS shutdown: the fake
    speaks plain HTTP, and test suites close hundreds of sessions."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class FakeTelegramServer:
    """A Bot API server for one bot, speaking HTTP on 127.0.0.1."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "fake_test_bot",
        first_name: str = "Fake Bot",
        quiet_period: float = 0.15,
    ) -> None:
        self._token = token
        self.bot_user: dict[str, Any] = {
            "id": int(token.partition(":")[0]),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.quiet_period = quiet_period
        self.calls: list[RecordedCall] = []
        self.too_many_requests = 0
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.menu_buttons: dict[int | None, Any] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = 1
        self._delivered_up_to = 0
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._pending_queries: set[str] = set()
        self._faults: list[_Fault] = []
        # Seconds every call but getUpdates waits before it is answered: a slow Telegram.
        self.latency = 0.0
        self._blocked: set[int] = set()
        self._limits: tuple[int, int] | None = None
        self._global_window: deque[float] = deque()
        self._chat_windows: dict[int, deque[float]] = {}
        self._last_activity = time.monotonic()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._stopping = False
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "deleteWebhook": self._delete_webhook,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "deleteMessage": self._delete_message,
                "sendChatAction": self._send_chat_action,
                "setChatMenuButton": self._set_chat_menu_button,
            }.items()
        }

    def __repr__(self) -> str:
        return f"FakeTelegramServer(base_url={self._base_url!r}, bot=@{self.bot_user['username']})"

    # lifecycle

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return self._base_url

    @property
    def token(self) -> str:
        return self._token

    def create_session(self) -> AiohttpSession:
        """An aiogram session aimed at this server (closing it skips aiogram's TLS grace pause)."""
        return _PlainHttpSession(api=TelegramAPIServer.from_base(self.base_url))

    def create_bot(self, **bot_kwargs: Any) -> Bot:
        """A real aiogram Bot whose session talks to this server; the caller closes its session."""
        return Bot(self._token, session=self.create_session(), **bot_kwargs)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._handle_file)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self._stopping = False
        self._base_url = f"http://{host}:{bound_port}"
        return self._base_url

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._stopping = True
        self._notify()  # pending long polls answer at once instead of holding the shutdown
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # feeding updates as a person

    @property
    def next_update_id(self) -> int:
        return self._next_update_id

    def add_update(self, raw: dict[str, Any]) -> int:
        """Queue a raw update; an ``update_id`` is assigned when missing. Returns the id."""
        update = dict(raw)
        update_id = update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._updates.append(update)
        self._notify()
        return update_id

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str = "en",
        first_name: str = "Test",
        username: str | None = None,
    ) -> int:
        """A person writes ``text`` to the bot in private; returns the new message's id."""
        user = self._remember_user(user_id, language_code, first_name, username)
        chat = self._chat(user_id)
        message = ChatMessage(
            message_id=next(chat.message_ids),
            from_bot=False,
            text=text,
            raw_text=text,
            date=int(time.time()),
        )
        chat.messages[message.message_id] = message
        payload: dict[str, Any] = {
            "message_id": message.message_id,
            "from": user,
            "chat": self._chat_json(chat),
            "date": message.date,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            payload["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        self.add_update({"message": payload})
        return message.message_id

    def press(
        self, user_id: int, message_id: int, callback_data: str, *, language_code: str = "en"
    ) -> str:
        """A person presses the inline button carrying ``callback_data``; returns the query id."""
        user = self._remember_user(user_id, language_code)
        chat = self._chat(user_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted or not message.from_bot:
            raise LookupError(f"chat {user_id} shows no bot message {message_id}")
        if not any(b.get("callback_data") == callback_data for b in message.buttons):
            raise LookupError(f"message {message_id} has no button with {callback_data!r}")
        query_id = str(next(self._callback_ids))
        self._pending_queries.add(query_id)
        self.add_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": self._message_json(chat, message),
                    "chat_instance": str(-user_id),
                    "data": callback_data,
                }
            }
        )
        return query_id

    # what the person sees

    def transcript(self, chat_id: int, *, include_user: bool = False) -> list[ChatMessage]:
        """Messages still visible in the chat, oldest first (the bot's only, by default)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if not m.deleted and (m.from_bot or include_user)]

    def last_message(self, chat_id: int) -> ChatMessage | None:
        """The newest visible bot message in the chat, as it is after any edits."""
        visible = self.transcript(chat_id)
        return visible[-1] if visible else None

    def message(self, chat_id: int, message_id: int) -> ChatMessage | None:
        chat = self._chats.get(chat_id)
        return chat.messages.get(message_id) if chat else None

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """The reply keyboard the chat currently shows under the input field, if any."""
        chat = self._chats.get(chat_id)
        return chat.reply_keyboard if chat else None

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[Any]:
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    # recorded calls

    def calls_of(self, method: str) -> list[RecordedCall]:
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def sent_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Parameters of the successful sendMessage calls to the chat, in order."""
        return [
            c.params
            for c in self.calls_of("sendMessage")
            if c.chat_id == chat_id and c.error_code is None
        ]

    def clear_calls(self) -> None:
        self.calls.clear()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate()`` holds; it is re-checked after every call and update."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s; {self._recent_calls()}")
            changed = self._changed
            # Short slices as well, because predicates may depend on time (quiet periods).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.05)):
                    await changed.wait()

    async def wait_for_call(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RecordedCall:
        """Wait for the ``count``-th recorded call of ``method`` (to ``chat_id``) and return it."""

        def matching() -> list[RecordedCall]:
            return [c for c in self.calls_of(method) if chat_id is None or c.chat_id == chat_id]

        await self.wait_for(lambda: len(matching()) >= count, timeout)
        return matching()[count - 1]

    async def wait_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every queued update was fetched and the bot has been quiet for a while."""

        def idle() -> bool:
            fetched = all(u["update_id"] <= self._delivered_up_to for u in self._updates)
            return fetched and time.monotonic() - self._last_activity >= self.quiet_period

        await self.wait_for(idle, timeout)

    # fault injection

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id``) with an error."""
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        self._faults.append(
            _Fault(
                method=method.lower(),
                chat_id=chat_id,
                remaining=times,
                error_code=error_code,
                description=description,
                retry_after=retry_after if error_code == 429 else None,
            )
        )

    def disconnect_next(
        self,
        method: str,
        *,
        after_processing: bool = False,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Drop the connection of the next calls of ``method`` without an answer.

        With ``after_processing`` the call takes effect first (a message is really sent), which
        is the case that makes blind resending duplicate messages.
        """
        self._faults.append(
            _Fault(
                method=method.lower(),
                chat_id=chat_id,
                remaining=times,
                error_code=0,
                description="connection dropped",
                retry_after=None,
                after_processing=after_processing,
            )
        )

    def block_chat(self, chat_id: int) -> None:
        """The person blocks the bot: every call aimed at the chat answers 403."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def stop_bot(self, user_id: int) -> int:
        """The person blocks the bot in Telegram: calls to the chat answer 403 from now, and
        the bot is told with a ``my_chat_member`` update. Returns the update id."""
        self.block_chat(user_id)
        return self._member_update(user_id, "member", "kicked")

    def restart_bot(self, user_id: int) -> int:
        """The person unblocks the bot (Telegram's Restart button)."""
        self.unblock_chat(user_id)
        return self._member_update(user_id, "kicked", "member")

    def _member_update(self, user_id: int, old: str, new: str) -> int:
        language = self._users.get(user_id, {}).get("language_code", "en")

        def member(status: str) -> dict[str, Any]:
            kicked = {"until_date": 0} if status == "kicked" else {}
            return {"user": self.bot_user, "status": status, **kicked}

        return self.add_update(
            {
                "my_chat_member": {
                    "chat": self._chat_json(self._chat(user_id)),
                    "from": self._remember_user(user_id, language),
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def rate_limit(self, global_per_second: int = 30, per_chat_per_second: int = 1) -> None:
        """Answer 429 once sends exceed these counts in any one-second window."""
        self._limits = (global_per_second, per_chat_per_second)

    # HTTP plumbing

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._token:
            return _error_response(401, "Unauthorized")
        return _error_response(404, "Not Found")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self._token:
            return _error_response(401, "Unauthorized")
        arrived = time.monotonic()
        requested = request.match_info["method"]
        name, handler = self._methods.get(requested.lower(), (requested, None))
        try:
            params = await _read_params(request)
        except ValueError:
            return _error_response(400, "Bad Request: can't parse JSON object")
        call = RecordedCall(method=name, params=params, time=arrived)
        polling = name == "getUpdates"
        if polling:
            self._record(call)  # on arrival, so that "polling has started" can be awaited
        if not polling and self.latency:
            await asyncio.sleep(self.latency)
        try:
            fault = self._take_fault(name, call.chat_id)
            if fault is not None and fault.error_code:
                raise _ApiError(fault.error_code, fault.description, fault.retry_after)
            if fault is None or fault.after_processing:
                self._check_access(name, call.chat_id)
                if polling:
                    result = await self._get_updates(params, request)
                else:
                    result = self._dispatch(name, handler, params)
            if fault is not None:
                call.error_code = 0
                if request.transport is not None:
                    request.transport.abort()
                return web.Response()
        except _ApiError as error:
            call.error_code = error.code
            if error.code == 429:
                self.too_many_requests += 1
            return _error_response(error.code, error.description, error.retry_after)
        finally:
            if not polling:
                self._record(call)
        return web.json_response({"ok": True, "result": result})

    def _dispatch(
        self, name: str, handler: Callable[[dict[str, Any]], Any] | None, params: dict[str, Any]
    ) -> Any:
        if handler is None:
            logger.warning("fake Telegram: %s is not implemented, answered true", name)
            return True
        return handler(params)

    def _record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        if call.method != "getUpdates":
            self._last_activity = time.monotonic()
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _take_fault(self, method: str, chat_id: int | None) -> _Fault | None:
        wanted = method.lower()
        for fault in self._faults:
            if fault.method == wanted and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _check_access(self, method: str, chat_id: int | None) -> None:
        if chat_id is not None and chat_id in self._blocked:
            raise _ApiError(403, _DEFAULT_DESCRIPTIONS[403])
        if self._limits is None or method.lower() not in _RATE_LIMITED or chat_id is None:
            return
        global_limit, chat_limit = self._limits
        now = time.monotonic()
        chat_window = self._chat_windows.setdefault(chat_id, deque())
        for window in (self._global_window, chat_window):
            while window and window[0] <= now - 1.0:
                window.popleft()
        for window, limit in ((self._global_window, global_limit), (chat_window, chat_limit)):
            if len(window) >= limit:
                retry_after = max(1, math.ceil(window[0] + 1.0 - now))
                raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        self._global_window.append(now)
        chat_window.append(now)

    # getUpdates

    async def _get_updates(self, params: dict[str, Any], request: web.Request) -> Any:
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif isinstance(offset, int) and offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list) and allowed:
            self._allowed_updates = frozenset(allowed)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # a superseded long poll wakes up and answers 409
        while True:
            if self._stopping:
                return []
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            self._drop_unwanted_updates()
            remaining = deadline - time.monotonic()
            if self._updates or remaining <= 0:
                break
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await changed.wait()
        if request.transport is None or request.transport.is_closing():
            return []  # the client gave up on this poll: keep the updates for the next one
        batch = list(itertools.islice(self._updates, limit))
        if batch:
            self._delivered_up_to = max(self._delivered_up_to, batch[-1]["update_id"])
            self._last_activity = time.monotonic()
        return batch

    def _drop_unwanted_updates(self) -> None:
        def wanted(update: dict[str, Any]) -> bool:
            kind = _update_type(update)
            if self._allowed_updates is None:
                return kind not in _OPT_IN_UPDATES
            return kind in self._allowed_updates

        if not all(wanted(u) for u in self._updates):
            self._updates = deque(u for u in self._updates if wanted(u))

    # methods

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, 'Bad Request: parameter "commands" is required')
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = commands
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[Any]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return self._commands.get(key, [])

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        parse_mode = params.get("parse_mode")
        text = _render(params.get("text"), parse_mode)
        markup = params.get("reply_markup")
        message = ChatMessage(
            message_id=next(chat.message_ids),
            from_bot=True,
            text=text,
            raw_text=params["text"],
            parse_mode=parse_mode,
            reply_markup=_inline_markup(markup),
            date=int(time.time()),
        )
        if isinstance(markup, dict) and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif isinstance(markup, dict) and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        chat.messages[message.message_id] = message
        return self._message_json(chat, message)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        parse_mode = params.get("parse_mode")
        text = _render(params.get("text"), parse_mode)
        markup = _inline_markup(params.get("reply_markup"))
        if params["text"] == message.raw_text and markup == message.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        message.text, message.raw_text, message.parse_mode = text, params["text"], parse_mode
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return self._message_json(chat, message)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        markup = _inline_markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return self._message_json(chat, message)

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self._pending_queries:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._pending_queries.remove(query_id)
        self.callback_answers[query_id] = params
        return True

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        message = chat.messages.get(params.get("message_id", 0))
        if message is None or message.deleted:
            raise _ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params)
        return True

    def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        self.menu_buttons[params.get("chat_id")] = params.get("menu_button")
        return True

    # helpers

    def _target_chat(self, params: dict[str, Any]) -> _Chat:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _ApiError(400, "Bad Request: chat not found")
        return self._chat(chat_id)

    def _editable(self, params: dict[str, Any]) -> tuple[_Chat, ChatMessage]:
        if "inline_message_id" in params:
            raise _ApiError(400, "Bad Request: inline messages are not supported by the fake")
        chat = self._target_chat(params)
        message = chat.messages.get(params.get("message_id", 0))
        if message is None or message.deleted:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return chat, message

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            user = self._users.get(chat_id, {})
            chat = self._chats[chat_id] = _Chat(chat_id, user.get("first_name", "Test"))
        return chat

    def _remember_user(
        self,
        user_id: int,
        language_code: str,
        first_name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": first_name or "Test"}
        )
        user["language_code"] = language_code
        if first_name is not None:
            user["first_name"] = first_name
            self._chat(user_id).first_name = first_name
        if username is not None:
            user["username"] = username
        return dict(user)

    @staticmethod
    def _chat_json(chat: _Chat) -> dict[str, Any]:
        return {"id": chat.chat_id, "type": "private", "first_name": chat.first_name}

    def _message_json(self, chat: _Chat, message: ChatMessage) -> dict[str, Any]:
        sender = self.bot_user if message.from_bot else self._users.get(chat.chat_id)
        payload: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": self._chat_json(chat),
            "text": message.text,
        }
        if sender is not None:
            payload["from"] = sender
        if message.reply_markup is not None:
            payload["reply_markup"] = message.reply_markup
        if message.edit_date is not None:
            payload["edit_date"] = message.edit_date
        return payload

    def _recent_calls(self) -> str:
        recent = [f"{c.method}({c.error_code or 'ok'})" for c in self.calls[-8:]]
        return f"last calls: {recent}; queued updates: {len(self._updates)}"


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    # Telegram echoes only inline keyboards in the Message object; an empty one removes it.
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = {key: _decode(key, value) for key, value in request.query.items()}
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.body_exists:
        form = await request.post()
        params.update({key: _decode(key, value) for key, value in form.items()})
    return params


def _error_response(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)
