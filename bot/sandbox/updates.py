"""The bot's queue of updates, as Telegram keeps it: an update stays until it is confirmed (by a
higher getUpdates offset, or by a 2xx answer to its webhook POST), and types the bot did not ask
for in ``allowed_updates`` are left out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from bot.sandbox.events import Changes

# Telegram leaves these out unless the bot asks for them in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


class UpdateQueue:
    def __init__(self, changes: Changes) -> None:
        self._changes = changes
        self._updates: dict[int, dict[str, Any]] = {}  # by update_id; ids only grow
        self._next_update_id = 1
        self._allowed: frozenset[str] | None = None
        self._handed_out_up_to = 0

    @property
    def next_update_id(self) -> int:
        """The id the next update will get: every update added so far has a smaller one."""
        return self._next_update_id

    def add(self, raw: Mapping[str, Any]) -> int:
        """Queue a raw update; an ``update_id`` is assigned when missing. Returns the id."""
        update = dict(raw)
        update_id = update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update_id + 1)
        if self._wanted(update):
            self._updates[update_id] = update
        self._changes.notify()
        return update_id

    def allow(self, types: Iterable[str] | None) -> None:
        """Telegram's ``allowed_updates``: None or empty keeps the previous choice."""
        wanted = frozenset(types or ())
        if wanted:
            self._allowed = wanted
            self._updates = {i: u for i, u in self._updates.items() if self._wanted(u)}

    @property
    def allowed(self) -> list[str] | None:
        return None if self._allowed is None else sorted(self._allowed)

    def __len__(self) -> int:
        return len(self._updates)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Queued updates, oldest first."""
        return iter(sorted(self._updates.values(), key=lambda u: int(u["update_id"])))

    def confirm_below(self, offset: int) -> None:
        """Drop every update older than ``offset`` (getUpdates' confirmation)."""
        self._updates = {i: u for i, u in self._updates.items() if i >= offset}
        self._changes.notify()

    def keep_last(self, count: int) -> None:
        """getUpdates' negative offset: only the newest ``count`` updates stay."""
        for update in list(self)[:-count]:
            del self._updates[update["update_id"]]

    def confirm(self, update_id: int) -> None:
        """One update answered (a webhook POST got 2xx)."""
        self._updates.pop(update_id, None)
        self._changes.notify()

    def clear(self) -> None:
        self._updates.clear()
        self._changes.notify()

    def hand_out(self, limit: int) -> list[dict[str, Any]]:
        """The oldest ``limit`` updates, for getUpdates."""
        batch = list(self)[:limit]
        if batch:
            self._handed_out_up_to = max(self._handed_out_up_to, batch[-1]["update_id"])
        return batch

    @property
    def waiting(self) -> int:
        """Updates not yet handed out to the bot by getUpdates."""
        return sum(1 for update_id in self._updates if update_id > self._handed_out_up_to)

    def settled_before(self, update_id: int) -> bool:
        """Whether every update older than ``update_id`` left the queue (was confirmed)."""
        return all(queued >= update_id for queued in self._updates)

    def _wanted(self, update: Mapping[str, Any]) -> bool:
        kind = update_type(update)
        if self._allowed is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed
