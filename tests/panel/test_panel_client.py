"""Every action, single and multi, through the real client against the simulator over HTTP."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from bot.panel.client import PanelClient
from bot.panel.errors import InvalidKey, PanelRejected
from bot.panel.models import ItemError, NewOrder, OrderStatus, ServiceType
from bot.sandbox.simulator import PanelSimulator

LINK = "https://instagram.com/some.profile"


def followers(quantity: int = 100) -> NewOrder:
    """Service 1 of the default catalogue: Default, rate 0.90, 50..10000, refill and cancel."""
    return NewOrder(service=1, link=LINK, quantity=quantity)


async def test_services_default_catalogue(client: PanelClient, key: str) -> None:
    services = await client.services(key)
    assert len(services) >= 60
    assert {s.kind for s in services} == set(ServiceType)
    assert all(s.type_known for s in services)
    assert len({s.category for s in services}) >= 4
    first = services[0]
    assert (first.service, first.rate, first.min, first.max) == (1, Decimal("0.90"), 50, 10000)
    assert first.refill and first.cancel and first.dripfeed
    assert any("&" in s.name and "&amp;" not in s.name for s in services)
    assert any(len(s.name) > 200 for s in services)
    assert any(s.rate == Decimal("0.0123") for s in services)
    assert any(s.description for s in services)


async def test_big_catalogue_of_5000(make_client, key: str) -> None:
    async with PanelSimulator(services=PanelSimulator.big_catalogue(5000), keys={key: 1}) as sim:
        services = await make_client(sim.url, timeout=5).services(key)
    assert len(services) == 5000
    assert [s.service for s in services] == list(range(1, 5001))
    assert len({s.category for s in services}) == 51


async def test_malformed_services_skipped_with_one_warning(
    make_client, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    entries = PanelSimulator.big_catalogue(5)
    entries[1]["rate"] = "call us"
    entries[3].pop("min")
    async with PanelSimulator(services=entries, keys={key: 1}) as sim:
        services = await make_client(sim.url).services(key)
    assert [s.service for s in services] == [1, 3, 5]
    warnings = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warnings) == 1
    assert "skipped 2" in warnings[0].getMessage()


async def test_add_then_status(client: PanelClient, sim: PanelSimulator, key: str) -> None:
    order_id = await client.add(key, followers(300))
    assert order_id == 1000
    assert sim.orders[1000].fields == {"service": "1", "link": LINK, "quantity": "300"}
    status = await client.status(key, order_id)
    assert status == OrderStatus(
        status="Pending", charge=Decimal("0.27"), start_count=0, remains=300, currency="USD"
    )
    sim.set_order(order_id, status="Partial", remains=157, start_count=3572)
    status = await client.status(key, order_id)
    assert (status.status, status.remains, status.start_count) == ("Partial", 157, 3572)


async def test_unknown_status_kept_as_written(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    order_id = await client.add(key, followers())
    sim.set_order(order_id, status="Awaiting moderation")
    assert (await client.status(key, order_id)).status == "Awaiting moderation"


async def test_status_of_unknown_or_foreign_order_is_rejected(
    client: PanelClient, key: str, other_key: str
) -> None:
    foreign = await client.add(other_key, followers(50))
    for order_id in (foreign, 999999):
        with pytest.raises(PanelRejected) as caught:
            await client.status(key, order_id)
        assert caught.value.code == "incorrect_order"


@pytest.mark.parametrize("bare", [False, True], ids=["error-objects", "bare-strings"])
async def test_statuses_multi_with_errors(make_client, key: str, other_key: str, bare: bool):
    async with PanelSimulator(keys={key: 100, other_key: 100}, bare_string_errors=bare) as sim:
        client = make_client(sim.url)
        mine = [await client.add(key, followers()) for _ in range(2)]
        foreign = await client.add(other_key, followers())
        sim.set_order(mine[1], status="Completed", remains=0)
        result = await client.statuses(key, [*mine, foreign, 424242, mine[0]])
        asked = sim.requests[-1][1]["orders"].split(",")
    assert sorted(asked) == sorted(map(str, {*mine, foreign, 424242}))  # each ID once
    assert set(result) == {*mine, foreign, 424242}
    assert isinstance(result[mine[0]], OrderStatus)
    assert result[mine[1]] == OrderStatus(
        status="Completed", charge=Decimal("0.09"), start_count=0, remains=0, currency="USD"
    )
    assert result[foreign] == ItemError(message="Incorrect order ID")
    assert result[424242] == ItemError(message="Incorrect order ID")
    assert sim.request_count("status") == 1


async def test_250_ids_are_three_status_requests(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    sim.set_balance(key, Decimal("1000"))
    ids = [await client.add(key, followers(50)) for _ in range(250)]
    sim.reset_requests()
    result = await client.statuses(key, ids)
    assert sim.request_count("status") == 3
    assert sim.request_count() == 3
    batches = [form["orders"].split(",") for _, form in sim.requests]
    assert [len(batch) for batch in batches] == [100, 100, 50]
    assert [int(i) for batch in batches for i in batch] == ids
    assert set(result) == set(ids)
    assert all(isinstance(value, OrderStatus) for value in result.values())


async def test_empty_multi_inputs_send_nothing(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    assert await client.statuses(key, []) == {}
    assert await client.refills(key, []) == {}
    assert await client.refill_statuses(key, []) == {}
    assert await client.cancel(key, []) == {}
    assert sim.request_count() == 0


async def test_refill_single_and_status(client: PanelClient, sim: PanelSimulator, key: str) -> None:
    order_id = await client.add(key, followers())
    with pytest.raises(PanelRejected) as caught:
        await client.refill(key, order_id)
    assert caught.value.code == "not_eligible_refill"
    sim.set_order(order_id, status="Completed")
    refill_id = await client.refill(key, order_id)
    assert refill_id == 500
    assert sim.refills[500].order_id == order_id
    assert await client.refill_status(key, refill_id) == "Pending"
    sim.set_refill(refill_id, "Rejected")
    assert await client.refill_status(key, refill_id) == "Rejected"
    with pytest.raises(PanelRejected) as caught:
        await client.refill_status(key, 4242)
    assert caught.value.code == "refill_not_found"


@pytest.mark.parametrize("bare", [False, True], ids=["error-objects", "bare-strings"])
async def test_refills_and_refill_statuses_multi(make_client, key: str, bare: bool) -> None:
    async with PanelSimulator(keys={key: Decimal(100)}, bare_string_errors=bare) as sim:
        client = make_client(sim.url)
        done = await client.add(key, followers())
        pending = await client.add(key, followers())
        sim.set_order(done, status="Completed")
        refills = await client.refills(key, [done, pending, 31337])
        assert refills == {
            done: 500,
            pending: ItemError(message="Order not eligible for refill."),
            31337: ItemError(message="Incorrect order ID"),
        }
        sim.set_refill(500, "Completed")
        statuses = await client.refill_statuses(key, [500, 777])
    assert statuses == {500: "Completed", 777: ItemError(message="Refill not found")}


async def test_refill_multi_split_by_100(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    sim.set_balance(key, Decimal(1000))
    ids = [await client.add(key, followers(50)) for _ in range(150)]
    for order_id in ids:
        sim.set_order(order_id, status="Completed")
    sim.reset_requests()
    refills = await client.refills(key, ids)
    assert sorted(refills.values()) == list(range(500, 650))  # type: ignore[type-var]
    statuses = await client.refill_statuses(key, list(refills.values()))  # type: ignore[arg-type]
    assert set(statuses.values()) == {"Pending"}
    assert sim.request_count("refill") == 2
    assert sim.request_count("refill_status") == 2


async def test_cancel(client: PanelClient, sim: PanelSimulator, key: str) -> None:
    cancellable = await client.add(key, followers(1000))
    no_cancel = await client.add(
        key, NewOrder(service=2, link=LINK, quantity=100)
    )  # service 2 has cancel disabled
    finished = await client.add(key, followers())
    sim.set_order(finished, status="Completed")
    before = sim.balance_of(key)
    result = await client.cancel(key, [cancellable, no_cancel, finished, 55555])
    assert result[cancellable] is True
    assert result[no_cancel] == ItemError(message="Order cannot be canceled.")
    assert result[finished] == ItemError(message="Order cannot be canceled.")
    assert result[55555] == ItemError(message="Incorrect order ID")
    assert (await client.status(key, cancellable)).status == "Canceled"
    assert sim.balance_of(key) == before + Decimal("0.9")


async def test_balance_exact(client: PanelClient, sim: PanelSimulator, key: str) -> None:
    sim.set_balance(key, Decimal("100.84292"))
    balance = await client.balance(key)
    assert balance.balance == Decimal("100.84292")
    assert balance.currency == "USD"


async def test_number_encodings_and_exact_money(
    make_client, key: str, numbers_as_strings: bool
) -> None:
    async with PanelSimulator(
        keys={key: Decimal("100.84292")}, numbers_as_strings=numbers_as_strings
    ) as sim:
        client = make_client(sim.url)
        services = await client.services(key)
        assert services[0].rate == Decimal("0.9")
        assert services[0].min == 50
        order_id = await client.add(key, followers(50))
        sim.set_order(order_id, charge=Decimal("0.27819"), start_count=3572, remains=157)
        status = await client.status(key, order_id)
        many = await client.statuses(key, [order_id])
        balance = await client.balance(key)
    assert status.charge == Decimal("0.27819")
    assert str(status.charge) == "0.27819"
    assert (status.start_count, status.remains) == (3572, 157)
    assert many == {order_id: status}
    assert balance.balance == Decimal("100.84292") - Decimal("0.045")
    assert str(balance.balance) == "100.79792"


async def test_invalid_key(client: PanelClient) -> None:
    with pytest.raises(InvalidKey) as caught:
        await client.balance("wrong-key-123456")
    assert caught.value.message == "Invalid API key"


async def test_add_rejections(client: PanelClient, sim: PanelSimulator, key: str) -> None:
    cases = {
        NewOrder(service=999, link=LINK, quantity=100): "incorrect_service",
        followers(10): "min_quantity",
        followers(10001): "max_quantity",
        NewOrder(service=1, link="not a link", quantity=100): "bad_link",
    }
    for order, code in cases.items():
        with pytest.raises(PanelRejected) as caught:
            await client.add(key, order)
        assert caught.value.code == code, caught.value.message
    sim.set_balance(key, Decimal("0.01"))
    with pytest.raises(PanelRejected) as caught:
        await client.add(key, followers(100))
    assert caught.value.code == "not_enough_funds"
    assert not sim.orders
    assert sim.request_count("add") == 5


async def test_user_agent_is_sent(make_client, canned) -> None:
    canned.reply('{"balance": "1", "currency": "USD"}')
    await make_client(canned.url, user_agent="TestAgent/1.0").balance("k")
    assert canned.forms == [{"key": "k", "action": "balance"}]
    assert canned.user_agents == ["TestAgent/1.0"]


async def test_default_user_agent_is_browser_like(make_client, canned) -> None:
    canned.reply('{"balance": "1", "currency": "USD"}')
    await make_client(canned.url).balance("k")
    assert canned.user_agents[0] is not None
    assert canned.user_agents[0].startswith("Mozilla/5.0")


async def test_client_reuses_a_given_session_and_leaves_it_open(sim: PanelSimulator, key: str):
    async with aiohttp.ClientSession() as session:
        async with PanelClient(sim.url, session=session) as client:
            await client.balance(key)
        assert not session.closed
        assert repr(client) == f"PanelClient(url={sim.url!r})"
