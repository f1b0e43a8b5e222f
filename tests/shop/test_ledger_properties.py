"""Property tests of the ledger: no sequence of events creates or loses a cent.

The same scenarios run on the in-memory model and on the wallet repository over SQLite (and
PostgreSQL when TEST_DATABASE_URL is set), restarts reopening the database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings

from bot.services.shop_orders import ShopOrders
from bot.services.shop_pricing import Charge
from bot.storage import Database, StatusUpdate
from bot.storage.wallets import WalletRepository
from tests.shop.ledger_scenarios import EVERY_PATH, Op, play, scenarios
from tests.shop.memory_ledger import MemoryWorld


class DatabaseOrders:
    """The shop's order repository, driven as the ordering service and the tracker drive it."""

    def __init__(self, db: Database) -> None:
        self._orders = ShopOrders(db)

    async def open(self, user: int, price: int, quantity: int) -> int:
        charge = Charge(price=Decimal(price) / 100, currency="USD", amount=price, cost=0)
        intent = await self._orders.create_charged_intent(
            charge,
            intent_token=uuid.uuid4().hex,
            owner_id=user,
            account="shared",
            service_id=1,
            service_name="Likes",
            service_type="Default",
            rate=Decimal(1),
            link="https://example.com/p",
            quantity=quantity,
            extra={},
            refillable=False,
            cancelable=True,
        )
        assert intent is not None
        return intent.id

    async def placed(self, order_id: int) -> None:
        # The panel's order ID: the local one will do, unique as it is.
        await self._orders.mark_placed(order_id, order_id, first_poll_at=0.0, poll_interval=60.0)

    async def failed(self, order_id: int) -> None:
        assert await self._orders.mark_failed(order_id, "refused")

    async def unknown(self, order_id: int) -> None:
        assert await self._orders.mark_unknown(order_id, "no answer")

    async def not_placed(self, order_id: int) -> None:
        assert await self._orders.mark_not_placed(order_id, "checked by an admin")

    async def status(self, order_id: int, status: str, remains: int) -> None:
        update = StatusUpdate(order_id, status, remains, 0, None, None, True, None, None)
        await self._orders.apply_statuses([update])


class DatabaseWorld:
    """The wallet and order repositories; a restart closes the database and opens it again."""

    def __init__(self, url: str, db: Database) -> None:
        self._url = url
        self._db = db
        self.ledger = WalletRepository(db)
        self.orders = DatabaseOrders(db)

    @classmethod
    async def open_empty(cls, url: str) -> DatabaseWorld:
        db = await Database.open(url)
        async with db.transaction() as tx:
            for table in ("ledger_entries", "wallets", "shop_sales", "orders"):
                await tx.execute(f"DELETE FROM {table}")
        return cls(url, db)

    async def restart(self) -> None:
        await self._db.close()
        self._db = await Database.open(self._url)
        self.ledger = WalletRepository(self._db)
        self.orders = DatabaseOrders(self._db)

    async def close(self) -> None:
        await self._db.close()


async def _in_memory(scenario: list[Op]) -> None:
    await play(MemoryWorld(), scenario)


def _on_database(url: str) -> Callable[[list[Op]], Awaitable[None]]:
    async def run(scenario: list[Op]) -> None:
        world = await DatabaseWorld.open_empty(url)
        try:
            await play(world, scenario)
        finally:
            await world.close()

    return run


@settings(max_examples=300, deadline=None)
@given(scenarios)
@example(EVERY_PATH)
def test_the_model_ledger_keeps_every_cent(scenario: list[Op]) -> None:
    asyncio.run(_in_memory(scenario))


@pytest.fixture
def database_run(database_url: str) -> Callable[[list[Op]], Awaitable[None]]:
    return _on_database(database_url)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenario=scenarios)
@example(scenario=EVERY_PATH)
def test_the_database_ledger_keeps_every_cent(
    database_run: Callable[[list[Op]], Awaitable[None]], scenario: list[Op]
) -> None:
    asyncio.run(database_run(scenario))
