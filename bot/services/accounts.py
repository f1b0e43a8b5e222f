"""Whose panel key serves a person: the one seam between people and panel accounts."""

from __future__ import annotations

from dataclasses import dataclass

from bot.panel.account import PanelAccount
from bot.panel.client import PanelClient
from bot.storage.repositories import KeyRepository

SHARED_LABEL = "shared"


@dataclass(frozen=True, slots=True)
class Account:
    """A panel account as the bot records it: `label` is what orders store to find it again."""

    label: str
    panel: PanelAccount


class AccountResolver:
    def __init__(self, client: PanelClient, keys: KeyRepository, shared_key: str | None) -> None:
        self._client = client
        self._keys = keys
        self._shared = (
            Account(SHARED_LABEL, PanelAccount(client, shared_key)) if shared_key else None
        )

    @property
    def shared_mode(self) -> bool:
        return self._shared is not None

    def candidate(self, key: str) -> Account:
        """An account for a key a person is connecting, before it is stored."""
        panel = PanelAccount(self._client, key)
        return Account(panel.key_fingerprint, panel)

    async def for_user(self, user_id: int) -> Account | None:
        if self._shared is not None:
            return self._shared
        key = await self._keys.get(user_id)
        return self.candidate(key) if key else None

    async def by_label(self) -> dict[str, Account]:
        """Every account orders may belong to, for tracking them in batches per key."""
        if self._shared is not None:
            return {SHARED_LABEL: self._shared}
        accounts = (self.candidate(key) for key in (await self._keys.all_keys()).values())
        return {account.label: account for account in accounts}
