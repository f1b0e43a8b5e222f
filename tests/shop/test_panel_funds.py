"""The operator's panel balance, checked before anyone is charged: cached, alerted once."""

from __future__ import annotations

from decimal import Decimal

from bot.panel.errors import PanelUnavailable
from bot.services.panel_funds import PanelFunds, says_low_funds


class Panel:
    """The balance the panel answers, and how often it was asked."""

    def __init__(self, balance: str) -> None:
        self.balance = Decimal(balance)
        self.asked = 0
        self.down = False

    async def read(self) -> Decimal:
        self.asked += 1
        if self.down:
            raise PanelUnavailable("connection refused")
        return self.balance


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Alerts:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


def funds(panel: Panel, alerts: Alerts, clock: Clock) -> PanelFunds:
    return PanelFunds(panel.read, alerts, ttl=30.0, clock=clock)


async def test_the_balance_is_cached_and_lowered_by_what_was_ordered() -> None:
    panel, alerts, clock = Panel("10"), Alerts(), Clock()
    f = funds(panel, alerts, clock)
    assert await f.covers(Decimal("6"))
    f.spent(Decimal("6"))
    assert not await f.covers(Decimal("6"))  # 4 left in the cache: not asked again
    assert panel.asked == 1
    assert alerts.count == 1


async def test_admins_are_alerted_once_until_it_recovers() -> None:
    panel, alerts, clock = Panel("1"), Alerts(), Clock()
    f = funds(panel, alerts, clock)
    for _ in range(3):
        assert not await f.covers(Decimal("5"))
        clock.now += 31
    assert alerts.count == 1
    panel.balance = Decimal(100)
    assert await f.covers(Decimal("5"))
    panel.balance = Decimal(1)
    clock.now += 31
    assert not await f.covers(Decimal("5"))
    assert alerts.count == 2


async def test_the_panel_saying_not_enough_funds_drops_the_cache_and_alerts_once() -> None:
    panel, alerts, clock = Panel("100"), Alerts(), Clock()
    f = funds(panel, alerts, clock)
    assert await f.covers(Decimal(1))
    await f.short()
    await f.short()
    assert alerts.count == 1
    assert await f.covers(Decimal(1))  # asked again at once, and it says enough
    assert panel.asked == 2


async def test_an_unreadable_balance_lets_the_order_go_to_the_panel() -> None:
    panel, alerts, clock = Panel("0"), Alerts(), Clock()
    panel.down = True
    assert await funds(panel, alerts, clock).covers(Decimal(5))
    assert alerts.count == 0


def test_panel_answers_meaning_low_funds() -> None:
    assert says_low_funds("Not enough funds on balance")
    assert says_low_funds("INSUFFICIENT FUNDS")
    assert not says_low_funds("Incorrect service ID")
    assert not says_low_funds(None)
