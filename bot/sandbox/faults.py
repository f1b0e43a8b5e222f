"""The failures Telegram produces, on demand: error answers (429, 403, 400, 5xx), dropped
connections, people who blocked the bot, flood limits and a slow server."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

from bot.sandbox.rules import ApiError

DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
# Message-producing methods the rate limiter counts (edits and chat actions are not part of
# Telegram's "messages per second" limits).
_RATE_LIMITED = frozenset(
    {"sendmessage", "sendphoto", "senddocument", "copymessage", "forwardmessage"}
)


@dataclass
class Fault:
    method: str
    chat_id: int | None
    remaining: int
    error_code: int  # 0 means "drop the connection"
    description: str
    retry_after: int | None
    after_processing: bool = False


class Faults:
    def __init__(self) -> None:
        # Seconds every call but getUpdates waits before it is answered: a slow Telegram.
        self.latency = 0.0
        # How many 429 answers were given (injected or from the rate limiter).
        self.too_many_requests = 0
        self._faults: list[Fault] = []
        self._blocked: set[int] = set()
        self._limits: tuple[int, int] | None = None
        self._global_window: deque[float] = deque()
        self._chat_windows: dict[int, deque[float]] = {}

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
                description = DESCRIPTIONS.get(error_code, "Error")
        self._faults.append(
            Fault(
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
            Fault(
                method=method.lower(),
                chat_id=chat_id,
                remaining=times,
                error_code=0,
                description="connection dropped",
                retry_after=None,
                after_processing=after_processing,
            )
        )

    def clear(self) -> None:
        """Forget every pending injected failure (blocks and limits stay)."""
        self._faults.clear()

    def block_chat(self, chat_id: int) -> None:
        """Every call aimed at the chat answers 403 (the person blocked the bot)."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def is_blocked(self, chat_id: int) -> bool:
        return chat_id in self._blocked

    def rate_limit(self, global_per_second: int = 30, per_chat_per_second: int = 1) -> None:
        """Answer 429 once sends exceed these counts in any one-second window."""
        self._limits = (global_per_second, per_chat_per_second)

    def take(self, method: str, chat_id: int | None) -> Fault | None:
        """The injected failure for this call, if any (counted as used)."""
        wanted = method.lower()
        for fault in self._faults:
            if fault.method == wanted and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def check_access(self, method: str, chat_id: int | None) -> None:
        """Raise the 403 of a blocked chat or the 429 of the flood limits."""
        if chat_id is not None and chat_id in self._blocked:
            raise ApiError(403, DESCRIPTIONS[403])
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
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        self._global_window.append(now)
        chat_window.append(now)
