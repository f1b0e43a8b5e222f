"""The shop's ledger as top-ups' wallet port (bot.services.topups.WalletPort): a top-up's
credit is a TOPUP entry (with its referrer's REFERRAL_COMMISSION in the same transaction), a
Stars refund a PAYMENT_REFUND entry, each once per key."""

from __future__ import annotations

from bot.services.ledger import LedgerPort
from bot.services.referrals import Referrals
from bot.services.topups import InsufficientFunds, Moved
from bot.storage.ledger import EntryKind, Movement, Posted
from bot.storage.ledger import InsufficientFunds as LedgerShort


class LedgerWallet:
    def __init__(self, ledger: LedgerPort, referrals: Referrals | None = None) -> None:
        self._ledger = ledger
        self._referrals = referrals

    async def credit(self, user_id: int, amount: int, *, key: str, reference: str) -> Moved:
        # A refund Telegram refused is given back as a top-up again, saying so; it is no new
        # payment, so it pays no commission.
        reversal = key.endswith(":reversed")
        note = "refund refused" if reversal else ""
        movement = Movement(user_id, EntryKind.TOPUP, amount, key, reference, note=note)
        commission = None
        if self._referrals is not None and not reversal:
            commission = await self._referrals.commission_for(
                user_id, amount, credit_key=key, reference=reference
            )
        if commission is None:
            return await self._moved(await self._ledger.post(movement))
        # One transaction: the payment and its commission are both written, or neither.
        posted, _ = await self._ledger.post_together([movement, commission])
        return await self._moved(posted)

    async def debit(self, user_id: int, amount: int, *, key: str, reference: str) -> Moved:
        movement = Movement(user_id, EntryKind.PAYMENT_REFUND, amount, key, reference)
        try:
            posted = await self._ledger.post(movement)
        except LedgerShort as short:
            raise InsufficientFunds(short.balance) from None
        return await self._moved(posted)

    async def balance(self, user_id: int) -> int:
        return await self._ledger.balance(user_id)

    async def _moved(self, posted: Posted) -> Moved:
        # A replay's entry tells the balance of its day: the receipt wants today's.
        if posted.fresh:
            return Moved(True, posted.entry.balance_after)
        return Moved(False, await self._ledger.balance(posted.entry.user_id))
