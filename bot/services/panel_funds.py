"""Whether the operator's panel balance can pay for an order, asked before anyone is charged.

The balance is cached a short while (minus what was ordered since), so a busy shop does not ask
the panel before every order. When it falls short, admins are alerted once, and again only
after it has recovered and fallen short anew.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from bot.panel.errors import PanelError

log = logging.getLogger(__name__)

# Words panels use in their answer to `add` when the operator's balance is short.
_LOW_FUNDS = (
    "not enough funds",
    "insufficient funds",
    "not enough balance",
    "insufficient balance",
    "low balance",
)


def says_low_funds(panel_message: str | None) -> bool:
    text = (panel_message or "").casefold()
    return any(words in text for words in _LOW_FUNDS)


class PanelFunds:
    def __init__(
        self,
        read_balance: Callable[[], Awaitable[Decimal]],
        alert: Callable[[], Awaitable[None]],
        *,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read_balance
        self._alert = alert
        self._ttl = ttl
        self._clock = clock
        self._cached: tuple[float, Decimal] | None = None
        self._alerted = False

    async def covers(self, cost: Decimal) -> bool:
        """True when the balance pays `cost`, or cannot be read (then `add` itself will say)."""
        balance = await self._balance()
        if balance is None:
            return True
        if balance >= cost:
            self._alerted = False
            return True
        await self.short()
        return False

    def spent(self, cost: Decimal) -> None:
        """An order was placed: the cached balance is that much lower until asked again."""
        if self._cached is not None:
            self._cached = (self._cached[0], self._cached[1] - cost)

    async def short(self) -> None:
        """The balance is short (seen here, or the panel said so): alert once until it recovers."""
        self._cached = None
        if self._alerted:
            return
        self._alerted = True
        log.warning("the panel balance cannot pay for orders: customers are told to wait")
        await self._alert()

    async def _balance(self) -> Decimal | None:
        now = self._clock()
        if self._cached is not None and now - self._cached[0] < self._ttl:
            return self._cached[1]
        try:
            balance = await self._read()
        except PanelError as exc:
            log.warning("panel balance unreadable before an order: %s", type(exc).__name__)
            return None
        self._cached = (now, balance)
        return balance
