"""A panel client bound to one API key: the seam that decides whose key a call uses."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bot.panel.client import PanelClient
from bot.panel.models import Balance, ItemError, NewOrder, OrderStatus, Service


def key_fingerprint(key: str) -> str:
    """A short, stable, non-reversible label of a key, for grouping and logs."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class PanelAccount:
    __slots__ = ("_client", "_key", "key_fingerprint")

    def __init__(self, client: PanelClient, key: str) -> None:
        self._client = client
        self._key = key
        self.key_fingerprint = key_fingerprint(key)

    def __repr__(self) -> str:
        return f"PanelAccount(url={self._client.url!r}, key=<{self.key_fingerprint}>)"

    @property
    def client(self) -> PanelClient:
        return self._client

    async def services(self) -> list[Service]:
        return await self._client.services(self._key)

    async def add(self, order: NewOrder) -> int:
        return await self._client.add(self._key, order)

    async def status(self, order_id: int) -> OrderStatus:
        return await self._client.status(self._key, order_id)

    async def statuses(self, ids: Sequence[int]) -> dict[int, OrderStatus | ItemError]:
        return await self._client.statuses(self._key, ids)

    async def refill(self, order_id: int) -> int:
        return await self._client.refill(self._key, order_id)

    async def refills(self, ids: Sequence[int]) -> dict[int, int | ItemError]:
        return await self._client.refills(self._key, ids)

    async def refill_status(self, refill_id: int) -> str:
        return await self._client.refill_status(self._key, refill_id)

    async def refill_statuses(self, ids: Sequence[int]) -> dict[int, str | ItemError]:
        return await self._client.refill_statuses(self._key, ids)

    async def cancel(self, ids: Sequence[int]) -> dict[int, bool | ItemError]:
        return await self._client.cancel(self._key, ids)

    async def balance(self, *, retries: int | None = None) -> Balance:
        return await self._client.balance(self._key, retries=retries)
