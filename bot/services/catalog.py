"""The panel's catalogue, cached per account: categories in the panel's order, search."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.panel.errors import PanelUnavailable
from bot.panel.models import Service
from bot.services.accounts import Account


@dataclass(frozen=True, slots=True)
class Category:
    index: int
    name: str
    services: tuple[Service, ...]


@dataclass(frozen=True)
class Catalogue:
    services: tuple[Service, ...]
    categories: tuple[Category, ...] = field(init=False)
    by_id: dict[int, Service] = field(init=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[Service]] = {}
        for service in self.services:
            grouped.setdefault(service.category, []).append(service)
        categories = tuple(
            Category(index, name, tuple(items))
            for index, (name, items) in enumerate(grouped.items())
        )
        object.__setattr__(self, "categories", categories)
        object.__setattr__(self, "by_id", {s.service: s for s in self.services})

    def category(self, index: int) -> Category | None:
        return self.categories[index] if 0 <= index < len(self.categories) else None

    def category_of(self, service: Service) -> Category | None:
        return next((c for c in self.categories if c.name == service.category), None)

    def page_of(self, service: Service, page_size: int) -> tuple[int, int]:
        """The category index and page number listing the service (for Back from a search)."""
        category = self.category_of(service)
        if category is None:
            return 0, 0
        position = next((i for i, s in enumerate(category.services) if s is service), 0)
        return category.index, position // page_size

    def search(self, query: str) -> list[Service]:
        """Services whose ID is the query, then those whose name contains it (case-insensitive)."""
        query = query.strip().lstrip("#")
        if not query:
            return []
        exact = self.by_id.get(int(query)) if query.isdecimal() and len(query) < 12 else None
        needle = query.casefold()
        found = [s for s in self.services if needle in s.name.casefold() and s is not exact]
        return [exact, *found] if exact else found


class SharedCatalogues(Protocol):
    """Catalogues kept where every instance finds them (Redis)."""

    async def load(self, label: str) -> tuple[float, tuple[Service, ...]] | None:
        """The services last fetched for `label` and their age in seconds, if kept."""
        ...

    async def save(self, label: str, services: tuple[Service, ...]) -> None: ...

    async def forget(self, label: str) -> None: ...


class CatalogService:
    """One fetch per account per TTL, shared by everyone asking at the same moment.

    When the panel is down, an expired catalogue is served rather than none. In own-key mode
    every key has its own catalogue: only the `max_accounts` used most recently are kept, so
    memory does not grow with the number of people. With `shared`, a catalogue one instance
    fetched serves the others too (each still keeps its own copy for the TTL).
    """

    def __init__(
        self,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_accounts: int = 32,
        shared: SharedCatalogues | None = None,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._max_accounts = max_accounts
        self._shared = shared
        self._cache: OrderedDict[str, tuple[float, Catalogue]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, account: Account, *, max_age: float | None = None) -> Catalogue:
        """The catalogue; `max_age` (seconds, below the TTL) asks for one fetched more recently.

        People asking at once share one fetch: a catalogue fetched while they waited is young
        enough for each of them.
        """
        age = self._ttl if max_age is None else min(self._ttl, max_age)
        cached = self._fresh(account.label, age)
        if cached is not None:
            return cached
        async with self._locks.setdefault(account.label, asyncio.Lock()):
            cached = self._fresh(account.label, age)
            if cached is not None:
                return cached
            if self._shared is not None:
                kept = await self._shared.load(account.label)
                mine = self._cache.get(account.label)
                if kept is not None and (mine is None or self._clock() - mine[0] > kept[0]):
                    kept_age, services = kept
                    self._remember(account.label, Catalogue(services), self._clock() - kept_age)
                    if kept_age <= age:
                        return self._cache[account.label][1]
            try:
                catalogue = Catalogue(tuple(await account.panel.services()))
            except PanelUnavailable:
                # A catalogue a little old beats none while the panel is down.
                stale = self._cache.get(account.label)
                if stale is None:
                    raise
                return stale[1]
            self._remember(account.label, catalogue, self._clock())
            if self._shared is not None:
                await self._shared.save(account.label, catalogue.services)
            return catalogue

    def _remember(self, label: str, catalogue: Catalogue, fetched_at: float) -> None:
        self._cache[label] = (fetched_at, catalogue)
        self._cache.move_to_end(label)
        while len(self._cache) > self._max_accounts:
            evicted, _entry = self._cache.popitem(last=False)
            lock = self._locks.get(evicted)
            if lock is not None and not lock.locked():
                del self._locks[evicted]

    def _fresh(self, label: str, max_age: float) -> Catalogue | None:
        entry = self._cache.get(label)
        if entry is None or self._clock() - entry[0] > max_age:
            return None
        self._cache.move_to_end(label)
        return entry[1]

    async def invalidate(self, label: str) -> None:
        # Other instances keep their own copy until the TTL: a label is a key's fingerprint,
        # so a new key is a new label anyway and only a reconnected key waits for its refresh.
        self._cache.pop(label, None)
        if self._shared is not None:
            await self._shared.forget(label)
