"""Orders in the shop: the wallet moves in the same transaction as the order it pays for.

`ShopOrders` is the order repository the ordering service and the tracker are given in shop
mode. An intent is written together with its charge; an order that fails, that an admin finds
was never placed, or whose status turns Canceled, Refunded or Partial is refunded in the
transaction that records it. Refunds are keyed by order: each order is refunded at most once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.services.ledger import charge_key, charge_order, refund_in_full, refund_order
from bot.services.shop_pricing import Charge, ordered_quantity, refund_for
from bot.storage import Database, FailureKind, OrderRepository, OrderRow, StatusUpdate
from bot.storage.session import Session
from bot.storage.tracked import now_or
from bot.storage.wallets import WalletRepository


class ShopOrders(OrderRepository):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._db = db

    async def create_charged_intent(self, charge: Charge, **fields: Any) -> OrderRow | None:
        """The intent and its charge, together or not at all (InsufficientFunds: nothing).

        None, with nothing charged, when the intent token was recorded before.
        """
        fields |= {"price": charge.price, "currency": charge.currency}
        async with self._db.transaction() as uow:
            intent = await OrderRepository(uow).create_intent(**fields)
            if intent is None:
                return None
            if charge.amount > 0:
                await charge_order(WalletRepository(uow), intent.owner_id, intent.id, charge.amount)
            await uow.execute(
                "INSERT INTO shop_sales (order_id, cost, created_at) VALUES (:id, :cost, :ts)",
                {"id": intent.id, "cost": charge.cost, "ts": now_or(fields.get("now"))},
            )
        return intent

    async def mark_failed(
        self,
        local_id: int,
        failure: str,
        kind: FailureKind = FailureKind.REJECTED,
        *,
        now: float | None = None,
    ) -> bool:
        async with self._db.transaction() as uow:
            changed = await OrderRepository(uow).mark_failed(local_id, failure, kind, now=now)
            if changed:
                await refund_in_full(WalletRepository(uow), local_id)
        return changed

    async def mark_not_placed(
        self, local_id: int, failure: str, *, now: float | None = None
    ) -> bool:
        async with self._db.transaction() as uow:
            changed = await OrderRepository(uow).mark_not_placed(local_id, failure, now=now)
            if changed:
                await refund_in_full(WalletRepository(uow), local_id)
        return changed

    async def apply_statuses(
        self, updates: Sequence[StatusUpdate], *, now: float | None = None, open_only: bool = False
    ) -> list[int]:
        async with self._db.transaction() as uow:
            changed = await OrderRepository(uow).apply_statuses(
                updates, now=now, open_only=open_only
            )
            await _refund_changed(uow, updates, set(changed))
        return changed


async def _refund_changed(uow: Session, updates: Sequence[StatusUpdate], changed: set[int]) -> None:
    """A status that just became final may earn a refund; a status seen again earns nothing
    (and the refund's key would refuse a second one anyway)."""
    wallets = WalletRepository(uow)
    orders = OrderRepository(uow)
    for update in updates:
        if update.local_id not in changed or not update.final:
            continue
        order = await orders.get(update.local_id)
        if order is None:
            continue
        charged = await wallets.by_key(charge_key(order.id))
        if charged is None:
            continue  # not a shop order (placed before the shop opened)
        runs = order.extra.get("runs")
        quantity = ordered_quantity(order.quantity, runs if isinstance(runs, int) else None)
        amount = refund_for(-charged.amount, update.status, quantity, update.remains)
        await refund_order(wallets, order.id, amount)
