"""The panel simulator's operator side (what the sandbox page's panel column calls), observed
through the panel's own API over HTTP, as a bot would see it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from bot.panel.models import ServiceType
from bot.sandbox.simulator import Outage, PanelSimulator, default_catalogue

KEY = "operator-test-key"
LINK = "https://instagram.com/p/abc"


@pytest.fixture
async def sim() -> AsyncIterator[PanelSimulator]:
    async with PanelSimulator(keys={KEY: Decimal("100")}) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


async def call(http: aiohttp.ClientSession, sim: PanelSimulator, **form: str) -> Any:
    async with http.post(sim.url, data={"key": KEY, **form}) as response:
        return await response.json(content_type=None)


async def place(http: aiohttp.ClientSession, sim: PanelSimulator, quantity: int = 1000) -> int:
    # Service 1: Default, rate 0.90 per 1000, refill and cancel allowed.
    answer = await call(http, sim, action="add", service="1", link=LINK, quantity=str(quantity))
    return int(answer["order"])


def test_the_catalogue_is_data_and_covers_every_service_type() -> None:
    catalogue = default_catalogue()
    kinds = {ServiceType.parse(entry["type"]) for entry in catalogue}
    assert kinds == set(ServiceType)
    assert len({entry["service"] for entry in catalogue}) == len(catalogue)


async def test_orders_move_through_their_statuses(
    sim: PanelSimulator, http: aiohttp.ClientSession
) -> None:
    order_id = await place(http, sim)
    assert sim.orders[order_id].status == "Pending"
    sim.start_order(order_id, start_count=321)
    answer = await call(http, sim, action="status", order=str(order_id))
    assert (answer["status"], answer["start_count"]) == ("In progress", "321")
    sim.complete_order(order_id)
    answer = await call(http, sim, action="status", order=str(order_id))
    assert (answer["status"], answer["remains"]) == ("Completed", "0")
    with pytest.raises(ValueError, match="already Completed"):
        sim.cancel_order(order_id)  # a final order stays final: no second refund


async def test_partial_refunds_the_undelivered_share(
    sim: PanelSimulator, http: aiohttp.ClientSession
) -> None:
    order_id = await place(http, sim, quantity=1000)  # 0.90
    assert sim.balance_of(KEY) == Decimal("99.10")
    sim.partial_order(order_id, remains=250)
    assert sim.balance_of(KEY) == Decimal("99.325")
    answer = await call(http, sim, action="status", order=str(order_id))
    assert answer == {
        "charge": "0.675",
        "start_count": "0",
        "status": "Partial",
        "remains": "250",
        "currency": "USD",
    }
    balance = await call(http, sim, action="balance")
    assert balance["balance"] == "99.325"
    with pytest.raises(ValueError, match="already Partial"):
        sim.partial_order(order_id, remains=100)


async def test_partial_needs_a_share_left_undelivered(
    sim: PanelSimulator, http: aiohttp.ClientSession
) -> None:
    order_id = await place(http, sim, quantity=1000)
    for remains in (0, 1000):
        with pytest.raises(ValueError, match="remains"):
            sim.partial_order(order_id, remains=remains)
    assert sim.orders[order_id].status == "Pending"


async def test_cancel_by_the_operator_refunds_everything(
    sim: PanelSimulator, http: aiohttp.ClientSession
) -> None:
    order_id = await place(http, sim)
    sim.cancel_order(order_id)
    assert sim.balance_of(KEY) == Decimal("100")
    answer = await call(http, sim, action="status", order=str(order_id))
    assert (answer["status"], answer["charge"], answer["remains"]) == ("Canceled", "0", "1000")


async def test_refills_advance_to_completed(
    sim: PanelSimulator, http: aiohttp.ClientSession
) -> None:
    order_id = await place(http, sim)
    sim.complete_order(order_id)
    refill_id = int((await call(http, sim, action="refill", order=str(order_id)))["refill"])
    seen = []
    for _ in range(2):
        sim.advance_refill(refill_id)
        seen.append(
            (await call(http, sim, action="refill_status", refill=str(refill_id)))["status"]
        )
    assert seen == ["In progress", "Completed"]
    with pytest.raises(ValueError, match="already Completed"):
        sim.advance_refill(refill_id)


async def test_balance_can_be_read_and_set(
    sim: PanelSimulator, http: aiohttp.ClientSession
) -> None:
    assert sim.keys == [KEY]
    sim.set_balance(KEY, Decimal("7.5"))
    assert (await call(http, sim, action="balance"))["balance"] == "7.5"


async def test_outages_last_until_switched_off(
    sim: PanelSimulator, http: aiohttp.ClientSession
) -> None:
    sim.switch_outage(Outage.HTML, True)
    for _ in range(2):
        async with http.post(sim.url, data={"key": KEY, "action": "balance"}) as response:
            assert response.status == 500
            assert "<html>" in await response.text()
    sim.switch_outage(Outage.HTML, False)
    sim.switch_outage(Outage.DOWN, True)
    assert sim.outages == {Outage.DOWN}
    with pytest.raises(aiohttp.ClientError):
        await call(http, sim, action="balance")
    sim.switch_outage(Outage.DOWN, False)
    assert (await call(http, sim, action="balance"))["balance"] == "100"


async def test_a_slow_panel_answers_after_its_delay(
    sim: PanelSimulator, http: aiohttp.ClientSession
) -> None:
    sim.slow_seconds = 30.0
    sim.switch_outage(Outage.SLOW, True)
    with pytest.raises(TimeoutError):
        async with http.post(
            sim.url,
            data={"key": KEY, "action": "balance"},
            timeout=aiohttp.ClientTimeout(total=0.2),
        ):
            pass
    sim.slow_seconds = 0.0
    assert (await call(http, sim, action="balance"))["balance"] == "100"


async def test_html_500_fault_answers_500(sim: PanelSimulator, http: aiohttp.ClientSession) -> None:
    sim.fail_next("html_500")
    async with http.post(sim.url, data={"key": KEY, "action": "balance"}) as response:
        assert response.status == 500
