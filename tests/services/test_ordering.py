"""OrderService over the real wire: an interrupted `add` never leaves an order pending."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.panel.account import PanelAccount
from bot.panel.client import PanelClient
from bot.panel.models import Service
from bot.sandbox.simulator import PanelSimulator
from bot.services.accounts import Account
from bot.services.order_form import quote_for
from bot.services.ordering import OrderService
from bot.storage import Database, OrderRepository, OrderRow, RefillRepository
from tests.intents import write_intent

KEY = "ordering-test-key-0123456789abcdef"
ALICE = 101


@pytest.fixture
async def sim() -> AsyncIterator[PanelSimulator]:
    async with PanelSimulator(keys={KEY: Decimal("100")}) as simulator:
        yield simulator


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


@pytest.fixture
async def account(sim: PanelSimulator) -> AsyncIterator[Account]:
    async with PanelClient(sim.url, timeout=30, read_retries=0, retry_backoff=0) as client:
        yield Account("shared", PanelAccount(client, KEY))


async def plain_service(account: Account) -> Service:
    services = await account.panel.services()
    return next(s for s in services if s.type == "Default" and not s.dripfeed and s.min <= 100)


ANSWERS: dict[str, object] = {"link": "https://instagram.com/p/x", "quantity": 100}


class Alerts:
    def __init__(self) -> None:
        self.orders: list[OrderRow] = []

    async def __call__(self, order: OrderRow) -> None:
        self.orders.append(order)


async def test_an_add_interrupted_in_flight_is_unknown_and_admins_are_told(
    sim: PanelSimulator, db: Database, account: Account
) -> None:
    orders = OrderRepository(db)
    alerts = Alerts()
    service = OrderService(orders, RefillRepository(db), poll_interval=1.0, on_unknown=alerts)
    listed = await plain_service(account)
    sim.fail_next("hang", action="add")

    placing = asyncio.create_task(
        service.place(
            intent_token="t1",
            owner_id=ALICE,
            account=account,
            service=listed,
            answers=ANSWERS,
            quote=quote_for(listed, ANSWERS, "USD", made_at=0.0),
        )
    )
    await sim.wait_for_requests(1, action="add")
    placing.cancel()  # a stop of the bot while the panel has the request
    with pytest.raises(asyncio.CancelledError):
        await placing

    order = await orders.get_by_intent("t1")
    assert order is not None and order.placement == "unknown"
    assert order.failure == "interrupted (CancelledError)"
    assert [o.id for o in alerts.orders] == [order.id]


async def test_intents_left_by_a_crash_become_unknown_at_the_next_start(db: Database) -> None:
    orders = OrderRepository(db)
    alerts = Alerts()
    service = OrderService(orders, RefillRepository(db), poll_interval=1.0, on_unknown=alerts)
    crashed = await write_intent(orders, "crashed", owner_id=ALICE)

    # An intent newer than this start may be another instance's confirmation in flight.
    assert await service.recover_interrupted(created_before=crashed.created_at) == []
    recovered = await service.recover_interrupted(created_before=crashed.created_at + 1)
    assert [o.id for o in recovered] == [crashed.id]
    assert recovered[0].placement == "unknown"
    assert [o.id for o in alerts.orders] == [crashed.id]
    # Done once: a second start finds nothing to recover and tells nobody again.
    assert await service.recover_interrupted(created_before=crashed.created_at + 1) == []
    assert len(alerts.orders) == 1


async def test_refresh_keeps_a_status_the_panel_only_respelt(
    sim: PanelSimulator, db: Database, account: Account
) -> None:
    orders = OrderRepository(db)
    service = OrderService(orders, RefillRepository(db), poll_interval=1.0)
    listed = await plain_service(account)
    result = await service.place(
        intent_token="t2",
        owner_id=ALICE,
        account=account,
        service=listed,
        answers=ANSWERS,
        quote=quote_for(listed, ANSWERS, "USD", made_at=0.0),
    )
    assert result.order is not None and result.order.panel_order_id is not None
    sim.set_order(result.order.panel_order_id, status="In progress")
    shown = await service.refresh(result.order, account)
    await service.seen(shown)

    sim.set_order(result.order.panel_order_id, status="in progress")  # only the case changed
    again = await service.refresh(shown, account)

    assert again.status == "In progress"
    assert await orders.pending_notifications() == []  # nothing new to tell


async def test_the_order_records_the_quote_confirmed_not_a_price_recomputed(
    sim: PanelSimulator, db: Database, account: Account
) -> None:
    orders = OrderRepository(db)
    service = OrderService(orders, RefillRepository(db), poll_interval=1.0)
    listed = await plain_service(account)
    quote = quote_for(listed, ANSWERS, "EUR", made_at=0.0)
    dearer = listed.model_copy(update={"rate": listed.rate * 3})

    result = await service.place(
        intent_token="t3",
        owner_id=ALICE,
        account=account,
        service=dearer,
        answers=ANSWERS,
        quote=quote,
    )

    assert result.order is not None
    assert (result.order.price, result.order.rate, result.order.currency) == (
        listed.rate * 100 / 1000,
        listed.rate,
        "EUR",
    )
    assert result.order.price == quote.price


async def test_a_quote_for_another_service_places_nothing(
    sim: PanelSimulator, db: Database, account: Account
) -> None:
    service = OrderService(OrderRepository(db), RefillRepository(db), poll_interval=1.0)
    listed = await plain_service(account)
    other = listed.model_copy(update={"service": listed.service + 1})
    with pytest.raises(ValueError, match="another service"):
        await service.place(
            intent_token="t4",
            owner_id=ALICE,
            account=account,
            service=other,
            answers=ANSWERS,
            quote=quote_for(listed, ANSWERS, None, made_at=0.0),
        )
    assert sim.request_count("add") == 0
