"""In-process fake of the Telegram Bot API HTTP server: the Bot API emulation itself.

The real aiogram ``Bot`` talks to it over HTTP (``TelegramAPIServer.from_base(fake.base_url)``),
so tests and the sandbox exercise aiogram's real serialisation, parsing and error mapping. The
server answers the methods, keeps what a person sees in each chat (``chats``), queues updates
(``updates``) and hands them out by long polling or by webhook POSTs (``webhook``). Around it:
``person(user_id)`` drives a person, ``events`` is a feed of what happens in the chats, and
``faults`` injects Telegram's failures. Every answered call is appended to ``calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from bot.sandbox.chats import Chat, ChatBook, ChatMessage
from bot.sandbox.events import Changes, EventFeed, EventKind
from bot.sandbox.faults import Faults
from bot.sandbox.payments import STRING_FIELDS as PAYMENT_STRING_FIELDS
from bot.sandbox.payments import StarsPayments
from bot.sandbox.person import Person
from bot.sandbox.rules import (
    ApiError,
    bad_request,
    check_reply_markup,
    render_caption,
    render_text,
)
from bot.sandbox.updates import UpdateQueue
from bot.sandbox.webhook import Webhook

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
_STRING_FIELDS |= PAYMENT_STRING_FIELDS
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
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
    ) -> None:
        self._token = token
        self.bot_user: dict[str, Any] = {
            "id": int(token.partition(":")[0]),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.calls: list[RecordedCall] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.menu_buttons: dict[int | None, Any] = {}
        self.changes = Changes()
        self.events = EventFeed()
        self.faults = Faults()
        self.chats = ChatBook(self.bot_user)
        self.updates = UpdateQueue(self.changes)
        self.webhook = Webhook(self.updates, self.changes, self._run_webhook_reply)
        # Telegram gives the bot 10 s to answer a pre-checkout query.
        self.payments = StarsPayments(self.chats, self.updates, self.events, answer_timeout=10.0)
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._poll_generation = 0
        # Callback queries the bot may still answer, with the chat each came from.
        self._pending_queries: dict[str, int] = {}
        self._last_call_time = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._stopping = False
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "setWebhook": self.webhook.set,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": lambda params: self.webhook.info(),
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "deleteMessage": self._delete_message,
                "sendChatAction": self._send_chat_action,
                "setChatMenuButton": self._set_chat_menu_button,
                **self.payments.methods(),
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
        self.webhook.resume()
        return self._base_url

    async def stop(self) -> None:
        await self.webhook.close()
        if self._runner is None:
            return
        self._stopping = True
        self.changes.notify()  # pending long polls answer at once instead of holding the shutdown
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # people and updates

    def person(
        self,
        user_id: int,
        *,
        language_code: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> Person:
        """The driver of a person's private chat with the bot (profile given: updated)."""
        self.chats.remember(user_id, language_code, first_name, username)
        return Person(
            user_id,
            chats=self.chats,
            updates=self.updates,
            events=self.events,
            faults=self.faults,
            pending_queries=self._pending_queries,
        )

    @property
    def next_update_id(self) -> int:
        return self.updates.next_update_id

    def add_update(self, raw: dict[str, Any]) -> int:
        """Queue a raw update; an ``update_id`` is assigned when missing. Returns the id."""
        return self.updates.add(raw)

    @property
    def last_call_time(self) -> float:
        """``time.monotonic()`` of the last answered call other than getUpdates."""
        return self._last_call_time

    # what the person sees

    def transcript(self, chat_id: int, *, include_user: bool = False) -> list[ChatMessage]:
        """Messages still visible in the chat, oldest first (the bot's only, by default)."""
        chat = self.chats.find(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if not m.deleted and (m.from_bot or include_user)]

    def last_message(self, chat_id: int) -> ChatMessage | None:
        """The newest visible bot message in the chat, as it is after any edits."""
        visible = self.transcript(chat_id)
        return visible[-1] if visible else None

    def message(self, chat_id: int, message_id: int) -> ChatMessage | None:
        chat = self.chats.find(chat_id)
        return chat.messages.get(message_id) if chat else None

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """The reply keyboard the chat currently shows under the input field, if any."""
        chat = self.chats.find(chat_id)
        return chat.reply_keyboard if chat else None

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[Any]:
        return list(self._commands.get(self._commands_key(scope, language_code), []))

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
        if not polling and self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        try:
            fault = self.faults.take(name, call.chat_id)
            if fault is not None and fault.error_code:
                raise ApiError(fault.error_code, fault.description, fault.retry_after)
            if fault is None or fault.after_processing:
                self.faults.check_access(name, call.chat_id)
                if polling:
                    result = await self._get_updates(params, request)
                else:
                    result = self._dispatch(name, handler, params)
            if fault is not None:
                call.error_code = 0
                if request.transport is not None:
                    request.transport.abort()
                return web.Response()
        except ApiError as error:
            call.error_code = error.code
            if error.code == 429:
                self.faults.too_many_requests += 1
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

    def _run_webhook_reply(self, requested: str, fields: dict[str, Any]) -> None:
        """Run a method a webhook answer carried; as in Telegram, nobody learns the result."""
        name, handler = self._methods.get(requested.lower(), (requested, None))
        params = {key: _decode(key, value) for key, value in fields.items()}
        call = RecordedCall(method=name, params=params, time=time.monotonic())
        try:
            self.faults.check_access(name, call.chat_id)
            self._dispatch(name, handler, params)
        except ApiError as error:
            call.error_code = error.code
            logger.info("fake Telegram: %s from a webhook answer failed: %s", name, error)
        self._record(call)

    def _record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        if call.method != "getUpdates":
            self._last_call_time = time.monotonic()
        self.changes.notify()

    # getUpdates

    async def _get_updates(self, params: dict[str, Any], request: web.Request) -> Any:
        self.webhook.refuse_polling()
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            self.updates.confirm_below(offset)
        elif isinstance(offset, int) and offset < 0:
            self.updates.keep_last(-offset)
        allowed = params.get("allowed_updates")
        self.updates.allow(allowed if isinstance(allowed, list) else None)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self.changes.notify()  # a superseded long poll wakes up and answers 409
        while True:
            if self._stopping:
                return []
            if generation != self._poll_generation:
                raise ApiError(409, _CONFLICT)
            self.webhook.refuse_polling()
            remaining = deadline - time.monotonic()
            if len(self.updates) or remaining <= 0:
                break
            changed = self.changes.next()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await changed.wait()
        if request.transport is None or request.transport.is_closing():
            return []  # the client gave up on this poll: keep the updates for the next one
        return self.updates.hand_out(limit)

    # methods

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        return self.webhook.remove(bool(params.get("drop_pending_updates")))

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = commands
        self.events.publish(
            EventKind.COMMANDS_CHANGED,
            None,
            scope=params.get("scope"),
            language_code=params.get("language_code"),
            commands=commands,
        )
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
        text = render_text(params.get("text"), params.get("parse_mode"))
        return self._send(chat, params, text=text, raw_text=params["text"])

    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "photo")

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "document")

    def _send_media(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        chat = self._target_chat(params)
        if not params.get(kind):
            raise bad_request(f'parameter "{kind}" is required')
        caption = render_caption(params.get("caption"), params.get("parse_mode"))
        return self._send(
            chat, params, text=caption, raw_text=params.get("caption") or "", media=kind
        )

    def _send(self, chat: Chat, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        markup = params.get("reply_markup")
        check_reply_markup(markup)
        message = chat.add(
            from_bot=True,
            parse_mode=params.get("parse_mode"),
            reply_markup=_inline_markup(markup),
            date=int(time.time()),
            **content,
        )
        if isinstance(markup, dict) and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif isinstance(markup, dict) and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        self.events.publish(
            EventKind.MESSAGE_SENT, chat.chat_id, message, reply_keyboard=chat.reply_keyboard
        )
        return self.chats.message_json(chat, message)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        if message.media is not None:
            raise bad_request("there is no text in the message to edit")
        text = render_text(params.get("text"), params.get("parse_mode"))
        return self._edit(chat, message, params, text=text, raw_text=params["text"])

    def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        if message.media is None:
            raise bad_request("there is no caption in the message to edit")
        caption = render_caption(params.get("caption"), params.get("parse_mode"))
        return self._edit(chat, message, params, text=caption, raw_text=params.get("caption") or "")

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        return self._edit(chat, message, params, raw_text=message.raw_text)

    def _edit(
        self, chat: Chat, message: ChatMessage, params: dict[str, Any], **content: Any
    ) -> dict[str, Any]:
        markup = params.get("reply_markup")
        check_reply_markup(markup)
        inline = _inline_markup(markup)
        if content["raw_text"] == message.raw_text and inline == message.reply_markup:
            raise ApiError(400, _NOT_MODIFIED)
        for name, value in content.items():
            setattr(message, name, value)
        if "text" in content:
            message.parse_mode = params.get("parse_mode")
        message.reply_markup = inline
        message.edit_date = int(time.time())
        self.events.publish(EventKind.MESSAGE_EDITED, chat.chat_id, message)
        return self.chats.message_json(chat, message)

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self._pending_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        chat_id = self._pending_queries.pop(query_id)
        self.callback_answers[query_id] = params
        self.events.publish(
            EventKind.CALLBACK_ANSWERED,
            chat_id,
            query_id=query_id,
            text=params.get("text"),
            show_alert=bool(params.get("show_alert")),
        )
        return True

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        message = chat.visible(params.get("message_id"))
        if message is None:
            raise bad_request("message to delete not found")
        message.deleted = True
        self.events.publish(EventKind.MESSAGE_DELETED, chat.chat_id, message)
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        self.events.publish(EventKind.CHAT_ACTION, chat.chat_id, action=params.get("action"))
        return True

    def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        self.menu_buttons[params.get("chat_id")] = params.get("menu_button")
        return True

    # helpers

    def _target_chat(self, params: dict[str, Any]) -> Chat:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise bad_request("chat not found")
        return self.chats.chat(chat_id)

    def _editable(self, params: dict[str, Any]) -> tuple[Chat, ChatMessage]:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by the fake")
        chat = self._target_chat(params)
        message = chat.visible(params.get("message_id"))
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    # Telegram echoes only inline keyboards in the Message object; an empty one removes it.
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


def _decode(key: str, value: Any) -> Any:
    if isinstance(value, web.FileField):
        return {"filename": value.filename, "content_type": value.content_type}
    if not isinstance(value, str) or key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


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
