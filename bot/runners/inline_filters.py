"""The handlers' filters run in the event loop, never in a worker thread.

aiogram runs every filter that is not a coroutine (a magic filter `F.text == ...`, a state such
as `OrderWizard.answering`, a plain predicate) through `asyncio.to_thread`: a trip to the
default thread pool and back for each one checked, several an update on the way to the
wizard's handlers (a few microseconds of work, and a thread hand-off of a tenth of a
millisecond or more, waiting behind whatever else uses the pool). Ours only look at the update
and the state in memory, so they run in place. A filter that would block (any I/O) must be a
coroutine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject


@dataclass
class InlineFilter(FilterObject):
    async def call(self, *args: Any, **kwargs: Any) -> Any:
        if self.awaitable:
            return await super().call(*args, **kwargs)
        return self.callback(*args, **self._prepare_kwargs(kwargs))


def inline_filters(root: Router) -> None:
    """Every handler filter in `root`'s tree that aiogram would run in a thread runs inline."""
    for router in root.chain_tail:
        for observer in router.observers.values():
            for handler in observer.handlers:
                if handler.filters:
                    handler.filters = [_inline(f) for f in handler.filters]


def _inline(found: FilterObject) -> FilterObject:
    if found.awaitable:
        return found
    # Built anew from what was registered: a magic filter's callable is its `resolve`.
    return InlineFilter(callback=found.magic if found.magic is not None else found.callback)
