"""Orders as a crash leaves them: the intent written before `add`, no answer recorded."""

from __future__ import annotations

import time
from decimal import Decimal

from bot.storage import OrderRepository, OrderRow


async def write_intent(
    orders: OrderRepository,
    token: str,
    *,
    owner_id: int,
    service_id: int = 2,
    link: str = "https://instagram.com/p/abc",
    age: float = 3600.0,
) -> OrderRow:
    """`age` seconds old: older than any Confirm still waiting for the panel."""
    intent = await orders.create_intent(
        intent_token=token,
        owner_id=owner_id,
        account="shared",
        service_id=service_id,
        service_name="Instagram Likes",
        service_type="Default",
        rate=Decimal("0.5"),
        link=link,
        quantity=100,
        extra={},
        price=Decimal("0.05"),
        currency="USD",
        refillable=False,
        cancelable=False,
        now=time.time() - age,
    )
    assert intent is not None
    return intent
