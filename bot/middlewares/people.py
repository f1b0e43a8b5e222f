"""Who is writing: the allow-list of shared-key mode, the person's row and language."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18nMiddleware

from bot.config import Settings
from bot.i18n import CatalogI18n, _, normalize_language
from bot.middlewares.throttling import Buckets
from bot.services.delivery import Priority
from bot.services.referrals import code_from_start
from bot.storage.repositories import UserRepository
from bot.telegram.limiter import sending_at

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

REFUSAL_INTERVAL = 3600.0  # a stranger is refused once an hour, whatever they send


class TellOnce(Protocol):
    async def first_time(self, user_id: int) -> bool:
        """True (and remembered) unless `user_id` was told within the interval."""
        ...


class RecentlyTold:
    """Who was told something within the last ``interval`` seconds; at most ``capacity``
    people are remembered (past that, the longest told is forgotten early)."""

    def __init__(
        self,
        interval: float,
        capacity: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._capacity = capacity
        self._clock = clock
        self._told: OrderedDict[int, float] = OrderedDict()  # oldest first

    async def first_time(self, user_id: int) -> bool:
        """True (and remembered) unless ``user_id`` was told within the interval."""
        now = self._clock()
        while self._told and next(iter(self._told.values())) <= now - self._interval:
            self._told.popitem(last=False)
        if user_id in self._told:
            return False
        if len(self._told) >= self._capacity:
            self._told.popitem(last=False)
        self._told[user_id] = now
        return True


class AllowListMiddleware(BaseMiddleware):
    """Shared-key mode serves listed people only; others get a refusal with their ID, no more.

    A stranger is refused once per ``refusal_interval`` seconds whatever they send, and the
    refusal waits behind every message for allowed people: a crowd of strangers can neither
    flood Telegram's limits nor delay anyone the bot serves.
    """

    def __init__(
        self,
        settings: Settings,
        i18n: CatalogI18n,
        buckets: Buckets,
        *,
        refusal_interval: float = REFUSAL_INTERVAL,
        refused: TellOnce | None = None,
    ) -> None:
        self._settings = settings
        self._i18n = i18n
        # A stranger's flood must not turn into a flood of refusals (nor eat the send rate).
        self._buckets = buckets
        # Several instances share one memory (`refused`), or a stranger is refused once each.
        self._refused = refused or RecentlyTold(refusal_interval)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or self._settings.may_use(user.id):
            return await handler(event, data)
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        with sending_at(Priority.BULK):
            press = event.callback_query
            if event.message is None and press is None:
                return None  # nothing to answer (e.g. the stranger started or blocked the bot)
            if await self._buckets.allow(user.id) and await self._refused.first_time(user.id):
                await self._refuse(bot, event, user)
            elif press is not None:
                await bot.answer_callback_query(press.id)
        return None

    async def _refuse(self, bot: Bot, event: Update, user: User) -> None:
        language = normalize_language(
            user.language_code, self._i18n.languages, self._settings.default_language
        )
        with self._i18n.context(), self._i18n.use_locale(language):
            if event.message is not None:
                text = _(
                    "Sorry, this bot serves only the people its operator has allowed. "
                    "Your Telegram ID is <code>{id}</code>: send it to the operator to be added."
                ).format(id=user.id)
                await bot.send_message(event.message.chat.id, text)
            elif event.callback_query is not None:
                # To the presser alone (the button may be on someone else's screen); plain
                # text, within a callback answer's 200 characters.
                alert = _("This bot serves only people its operator allowed. Your ID: {id}")
                await bot.answer_callback_query(
                    event.callback_query.id, text=alert.format(id=user.id), show_alert=True
                )


def _referral_code(event: TelegramObject) -> str | None:
    """The referral code of a `/start r<code>` message, if the update is one."""
    message = event.message if isinstance(event, Update) else None
    if message is None or not message.text:
        return None
    command, _, payload = message.text.partition(" ")
    # "/start@name" too: the router's CommandStart answers only the bot's own name.
    if command != "/start" and not command.startswith("/start@"):
        return None
    return code_from_start(payload.strip())


class PersonMiddleware(BaseMiddleware):
    """A row per person: language from Telegram on first contact, unblocked when they write."""

    def __init__(
        self,
        users: UserRepository,
        i18n: CatalogI18n,
        default_language: str,
        on_unblock: Callable[[int], None] | None = None,
    ) -> None:
        self._users = users
        self._i18n = i18n
        self._default = default_language
        # The outbound queue keeps its own "unreachable" mark per chat; it must be lifted too,
        # or notifications to a person who came back would still be dropped.
        self._on_unblock = on_unblock

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is not None:
            language = normalize_language(user.language_code, self._i18n.languages, self._default)
            # A new person who came by someone's link is theirs (decided at creation only).
            row = await self._users.ensure(user.id, language, referral_code=_referral_code(event))
            if row.blocked:
                await self._users.set_blocked(user.id, False)
                if self._on_unblock is not None:
                    self._on_unblock(user.id)
            data["person"] = row
        return await handler(event, data)


class PersonLocaleMiddleware(I18nMiddleware):
    i18n: CatalogI18n

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        person = data.get("person")
        language = getattr(person, "language", None)
        # `languages`, not `available_locales`: English is the source and has no catalogue.
        languages = self.i18n.languages
        if language in languages:
            return str(language)
        return normalize_language(language, languages, self.i18n.default_locale)
