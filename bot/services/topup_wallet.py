"""The shop's ledger as top-ups' wallet port (bot.services.topups.WalletPort): a top-up's
credit is a TOPUP entry, a Stars refund a PAYMENT_REFUND entry, each once per key."""

from __future__ import annotations

from bot.services.ledger import LedgerPort
from bot.services.topups import InsufficientFunds, Moved
from bot.storage.ledger import EntryKind, Movement, Posted
from bot.storage.ledger import InsufficientFunds as LedgerShort


class LedgerWallet:
    def __init__(self, ledger: LedgerPort) -> None:
        self._ledger = ledger

    async def credit(self, user_id: int, amount: int, *, key: str, reference: str) -> Moved:
        # A refund Telegram refused is given back as a top-up again, saying so.
        note = "refund refused" if key.endswith(":reversed") else ""
        movement = Movement(user_id, EntryKind.TOPUP, amount, key, reference, note=note)
        return await self._moved(await self._ledger.post(movement))

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
