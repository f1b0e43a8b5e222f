"""Webhook delivery as Telegram does it: while a webhook is set, every queued update is POSTed as
JSON to its URL with the ``X-Telegram-Bot-Api-Secret-Token`` header, up to ``max_connections``
at once. Only a 2xx answer confirms an update; any other answer or a connection error keeps it
and retries it later, with a growing pause, newer updates waiting behind it (an update is never
lost, never dropped, never overtaken by a retry). The last
failure is what ``getWebhookInfo`` reports.

A 2xx answer may carry a method for Telegram to run (aiogram's "reply into webhook": a form with
a ``method`` field, or a JSON object with one); it is run, and its result goes nowhere.

Unlike Telegram, plain ``http://`` URLs are accepted (tests run without TLS), and ``route_to``
sends the POSTs to other addresses in turn, as a load balancer in front of several instances
would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.sandbox.events import Changes
from bot.sandbox.rules import ApiError, bad_request
from bot.sandbox.updates import UpdateQueue

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_MAX_CONNECTIONS = 40
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Webhook:
    def __init__(
        self,
        queue: UpdateQueue,
        changes: Changes,
        run_method: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self._queue = queue
        self._changes = changes
        self._run_method = run_method
        self.url: str | None = None
        self.secret_token: str | None = None
        self.max_connections = DEFAULT_MAX_CONNECTIONS
        # Seconds before the first retry of a failed update; doubled each failure up to the max.
        self.retry_delay = 0.05
        self.max_retry_delay = 2.0
        # How long one POST may take before it counts as failed.
        self.timeout = 30.0
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.delivered = 0  # updates answered 2xx
        self._targets: list[str] | None = None
        self._turn = itertools.count()
        self._in_flight: set[int] = set()
        self._failures: dict[int, int] = {}
        self._retry_at: dict[int, float] = {}
        self._session: aiohttp.ClientSession | None = None
        self._runner: asyncio.Task[None] | None = None
        self._posts: set[asyncio.Task[None]] = set()

    @property
    def active(self) -> bool:
        return self.url is not None

    # --- the Bot API methods ------------------------------------------------------------------

    def set(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if not isinstance(url, str):
            raise bad_request("bad webhook: URL must be a String")
        if not url:
            self.remove(bool(params.get("drop_pending_updates")))
            return True
        if not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not (isinstance(secret, str) and _SECRET.fullmatch(secret)):
            raise bad_request("secret token contains unallowed characters")
        connections = params.get("max_connections", DEFAULT_MAX_CONNECTIONS)
        if not isinstance(connections, int) or not 1 <= connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        self.url, self.secret_token, self.max_connections = url, secret, connections
        allowed = params.get("allowed_updates")
        self._queue.allow(allowed if isinstance(allowed, list) else None)
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self.last_error_date = self.last_error_message = None
        self.resume()
        self._changes.notify()  # a long poll waiting now answers 409
        return True

    def resume(self) -> None:
        """Deliver from now on (after ``close``: the server was restarted with a webhook set)."""
        if self._runner is None and self.url is not None:
            self._runner = asyncio.create_task(self._run(), name="fake-telegram-webhook")

    def remove(self, drop_pending_updates: bool = False) -> bool:
        """deleteWebhook: updates wait for getUpdates again (POSTs under way finish)."""
        self.url = self.secret_token = None
        if drop_pending_updates:
            self._queue.clear()
        self._changes.notify()
        return True

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.url is not None:
            info["max_connections"] = self.max_connections
            info["ip_address"] = "127.0.0.1"
            if self._queue.allowed is not None:
                info["allowed_updates"] = self._queue.allowed
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info

    # --- for tests and the sandbox ------------------------------------------------------------

    def route_to(self, urls: list[str] | None) -> None:
        """POST to these addresses in turn instead of the webhook's URL (None: the URL again)."""
        self._targets = list(urls) if urls else None
        self._changes.notify()

    async def wait_delivered(self) -> None:
        """Return once every update added so far was POSTed and answered 2xx (or dropped by
        deleteWebhook's drop_pending_updates). Wrap it in a timeout; a hang means the receiver
        keeps failing (see ``last_error_message``)."""
        target = self._queue.next_update_id
        while not self._queue.settled_before(target):
            await self._changes.next().wait()

    async def close(self) -> None:
        """Stop delivering (for the server's stop); undelivered updates stay queued."""
        runner, self._runner = self._runner, None
        tasks = [task for task in (runner, *self._posts) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- delivery -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            changed = self._changes.next()
            wait = self._start_due_posts()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await changed.wait()

    def _start_due_posts(self) -> float | None:
        """Start the POSTs that are due; the seconds until the next retry falls due, if any."""
        if self.url is None:
            return None
        now = time.monotonic()
        next_retry: float | None = None
        for update in self._queue:
            if len(self._in_flight) >= self.max_connections:
                break
            update_id = update["update_id"]
            if update_id in self._in_flight:
                continue
            retry_at = self._retry_at.get(update_id, 0.0)
            if retry_at > now:
                # Later updates wait behind a failed one, as in Telegram: a person's updates
                # must not overtake each other.
                next_retry = retry_at
                break
            self._in_flight.add(update_id)
            post = asyncio.create_task(self._post(update))
            self._posts.add(post)
            post.add_done_callback(self._posts.discard)
        return None if next_retry is None else next_retry - now

    def _target(self) -> str:
        if self._targets is not None:
            return self._targets[next(self._turn) % len(self._targets)]
        assert self.url is not None
        return self.url

    async def _post(self, update: dict[str, Any]) -> None:
        update_id = update["update_id"]
        headers = {} if self.secret_token is None else {SECRET_HEADER: self.secret_token}
        error: str | None = None
        reply: tuple[str, dict[str, Any]] | None = None
        try:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            async with self._session.post(
                self._target(),
                json=update,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                if not 200 <= response.status < 300:
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
                reply = await _reply_method(response) if error is None else None
        except aiohttp.ClientConnectorError:
            error = "Connection refused"
        except TimeoutError:
            error = "Connection timed out"
        except aiohttp.ClientError as exc:
            error = f"Connection failed: {type(exc).__name__}"
        finally:
            self._in_flight.discard(update_id)
        if error is None:
            self._failures.pop(update_id, None)
            self._retry_at.pop(update_id, None)
            self.delivered += 1
            if reply is not None:
                self._run_method(*reply)
            self._queue.confirm(update_id)
            return
        failures = self._failures[update_id] = self._failures.get(update_id, 0) + 1
        delay = min(self.retry_delay * 2 ** (failures - 1), self.max_retry_delay)
        self._retry_at[update_id] = time.monotonic() + delay
        self.last_error_date, self.last_error_message = int(time.time()), error
        logger.info("fake Telegram: update %s not delivered (%s)", update_id, error)
        self._changes.notify()

    def refuse_polling(self) -> None:
        if self.url is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )


async def _reply_method(response: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]] | None:
    """The method a webhook answer asks Telegram to run, with its raw parameters; None if none."""
    fields: Any
    if response.content_type == "multipart/form-data":
        fields = {}
        async for part in aiohttp.MultipartReader.from_response(response):
            if isinstance(part, aiohttp.BodyPartReader) and part.name:
                fields[part.name] = await part.text()
    elif response.content_type == "application/json":
        fields = await response.json()
    else:
        return None
    method = fields.pop("method", None) if isinstance(fields, dict) else None
    return (method, fields) if isinstance(method, str) else None
