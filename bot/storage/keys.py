"""People's own panel API keys, encrypted with the bot's secret key."""

from __future__ import annotations

from bot.storage.secrets import SecretBox
from bot.storage.session import Source
from bot.storage.tracked import now_or
from bot.storage.users import ensure_user_row


class KeyRepository:
    def __init__(self, source: Source, box: SecretBox) -> None:
        self._src = source
        self._box = box

    async def set(self, telegram_id: int, key: str, *, now: float | None = None) -> None:
        ciphertext = self._box.encrypt(key)
        fingerprint = SecretBox.fingerprint(key)
        ts = now_or(now)
        async with self._src.transaction() as tx:
            await ensure_user_row(tx, telegram_id, ts)
            await tx.execute(
                "INSERT INTO panel_keys (telegram_id, key_ciphertext, key_fingerprint, created_at) "
                "VALUES (:id, :ciphertext, :fingerprint, :ts) ON CONFLICT (telegram_id) DO UPDATE "
                "SET key_ciphertext = excluded.key_ciphertext, "
                "key_fingerprint = excluded.key_fingerprint, created_at = excluded.created_at",
                {"id": telegram_id, "ciphertext": ciphertext, "fingerprint": fingerprint, "ts": ts},
            )

    async def get(self, telegram_id: int) -> str | None:
        """The decrypted key; raises SecretDecryptError if the secret key changed."""
        async with self._src.read() as tx:
            row = await tx.fetchone(
                "SELECT key_ciphertext FROM panel_keys WHERE telegram_id = :id", {"id": telegram_id}
            )
        return None if row is None else self._box.decrypt(row[0])

    async def delete(self, telegram_id: int) -> bool:
        async with self._src.transaction() as tx:
            changed = await tx.execute(
                "DELETE FROM panel_keys WHERE telegram_id = :id", {"id": telegram_id}
            )
        return changed > 0

    async def all_keys(self) -> dict[int, str]:
        async with self._src.read() as tx:
            rows = await tx.fetchall("SELECT telegram_id, key_ciphertext FROM panel_keys")
        return {telegram_id: self._box.decrypt(ciphertext) for telegram_id, ciphertext in rows}
