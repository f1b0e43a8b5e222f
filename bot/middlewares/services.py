"""The services reach the handler by name once its filters have chosen it, not before.

aiogram copies the handler data at every step of an update's way (each router visited, each
handler's filters tried: a dozen copies for a /help, several dozen for a button of the
wizard), so every name in it costs every update at every step. The services are a third of
those names and only the chosen handler (or error handler) asks for them: an inner middleware
on every event hands them over at the end of the way instead of the Dispatcher's workflow data
carrying them all along it. Nothing before the handler (middlewares, filters) reads them from
the data: each middleware is given what it uses when it is made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.types import TelegramObject

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class HandlerServices(BaseMiddleware):
    def __init__(self, services: Mapping[str, Any]) -> None:
        self._services = dict(services)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data.update(self._services)
        return await handler(event, data)

    def setup(self, dp: Dispatcher) -> None:
        """On every event's handlers (the update's own observer only routes: not there)."""
        for name, observer in dp.observers.items():
            if name != "update":
                observer.middleware(self)
