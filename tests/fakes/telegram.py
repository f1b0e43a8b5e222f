"""The fake Bot API with what only tests need: probes over the recorded calls, waits for a
condition, and one-line shortcuts for a person's actions (the driver is ``person(user_id)``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from bot.sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, RecordedCall


class FakeTelegram(FakeTelegramServer):
    def __init__(self, token: str = DEFAULT_TOKEN, *, quiet_period: float = 0.15) -> None:
        super().__init__(token)
        # How long the bot must make no call before `wait_idle` calls it idle.
        self.quiet_period = quiet_period

    # --- a person's actions ------------------------------------------------------------------

    def send_text(
        self, user_id: int, text: str, *, language_code: str = "en", **profile: Any
    ) -> int:
        return self.person(user_id, language_code=language_code, **profile).send_text(text)

    def press(
        self, user_id: int, message_id: int, callback_data: str, *, language_code: str = "en"
    ) -> str:
        return self.person(user_id, language_code=language_code).press(message_id, callback_data)

    def stop_bot(self, user_id: int) -> int:
        return self.person(user_id).leave()

    def restart_bot(self, user_id: int) -> int:
        return self.person(user_id).rejoin()

    # --- probes ------------------------------------------------------------------------------

    def calls_of(self, method: str) -> list[RecordedCall]:
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def menu_commands(self) -> dict[str | None, list[str]]:
        """The commands of each command menu the bot set, by language (None: the default)."""
        return {
            c.params.get("language_code"): [command["command"] for command in c.params["commands"]]
            for c in self.calls_of("setMyCommands")
        }

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
            changed = self.changes.next()
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
            quiet = time.monotonic() - self.last_call_time >= self.quiet_period
            return not self.updates.waiting and quiet

        await self.wait_for(idle, timeout)

    def _recent_calls(self) -> str:
        recent = [f"{c.method}({c.error_code or 'ok'})" for c in self.calls[-8:]]
        return f"last calls: {recent}; queued updates: {len(self.updates)}"
