"""Referrals on the users table (revision 0007): codes, who brought whom, commissions earned
(bot.services.referrals.ReferralStore)."""

from __future__ import annotations

from bot.storage.ledger import EntryKind
from bot.storage.session import Source
from bot.storage.tracked import now_or
from bot.storage.users import ensure_user_row


class ReferralRepository:
    def __init__(self, source: Source) -> None:
        self._src = source

    async def referrer_of(self, user_id: int) -> int | None:
        async with self._src.read() as tx:
            row = await tx.fetchone(
                "SELECT referred_by FROM users WHERE telegram_id = :id", {"id": user_id}
            )
        return None if row is None or row[0] is None else int(row[0])

    async def code_of(self, user_id: int, new: str) -> str:
        async with self._src.transaction() as tx:
            await ensure_user_row(tx, user_id, now_or(None))
            # Compare-and-set: of two first asks at once, one code is kept and both read it.
            await tx.execute(
                "UPDATE users SET referral_code = :code "
                "WHERE telegram_id = :id AND referral_code IS NULL",
                {"id": user_id, "code": new},
            )
            row = await tx.fetchone(
                "SELECT referral_code FROM users WHERE telegram_id = :id", {"id": user_id}
            )
        assert row is not None and row[0] is not None
        return str(row[0])

    async def brought(self, user_id: int) -> int:
        async with self._src.read() as tx:
            row = await tx.fetchone(
                "SELECT COUNT(*) FROM users WHERE referred_by = :id", {"id": user_id}
            )
        return int(row[0]) if row else 0

    async def earned(self, user_id: int) -> int:
        async with self._src.read() as tx:
            row = await tx.fetchone(
                "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries "
                "WHERE user_id = :id AND kind = :kind",
                {"id": user_id, "kind": EntryKind.REFERRAL_COMMISSION.value},
            )
        return int(row[0]) if row else 0
