"""Orders and sales a day over the last 30 days, for the operator's chart."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

DAYS = 30


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    orders: int
    sales: Decimal


def first_day(today: date, days: int = DAYS) -> date:
    return today - timedelta(days=days - 1)


def daily(placed: Iterable[tuple[float, Decimal]], today: date, days: int = DAYS) -> list[Day]:
    """One entry per UTC day from ``days`` - 1 days before ``today`` to ``today``, empty days
    included (a chart with gaps reads as "no data", not as "no orders")."""
    start = first_day(today, days)
    orders = [0] * days
    sales = [Decimal(0)] * days
    for created_at, price in placed:
        index = (datetime.fromtimestamp(created_at, UTC).date() - start).days
        if 0 <= index < days:
            orders[index] += 1
            sales[index] += price
    return [Day(start + timedelta(days=i), orders[i], sales[i]) for i in range(days)]
