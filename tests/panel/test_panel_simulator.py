"""The simulator's panel rules, checked through the real client over HTTP."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from bot.panel.client import PanelClient
from bot.panel.errors import PanelRejected
from bot.panel.models import ItemError, NewOrder, Service, ServiceType
from bot.sandbox.simulator import PanelSimulator

LINK = "https://instagram.com/p/abc"


def valid_order(service: Service) -> tuple[NewOrder, Decimal]:
    """The smallest valid order of a service and the charge it must cost."""
    low = service.min
    per_unit = service.rate * low / 1000
    lines = [f"line {n}" for n in range(low)]
    kind = service.kind
    common = {"service": service.service, "link": LINK}
    orders: dict[ServiceType, tuple[dict[str, object], Decimal]] = {
        ServiceType.DEFAULT: ({"quantity": low}, per_unit),
        ServiceType.PACKAGE: ({}, service.rate),
        ServiceType.CUSTOM_COMMENTS: ({"comments": lines}, per_unit),
        ServiceType.CUSTOM_COMMENTS_PACKAGE: ({"comments": ["a", "b"]}, service.rate),
        ServiceType.MENTIONS: ({"quantity": low, "usernames": ["u1", "u2"]}, per_unit),
        ServiceType.MENTIONS_WITH_HASHTAGS: (
            {"quantity": low, "usernames": ["u1"], "hashtags": ["#h"]},
            per_unit,
        ),
        ServiceType.MENTIONS_CUSTOM_LIST: ({"usernames": lines}, per_unit),
        ServiceType.MENTIONS_HASHTAG: ({"quantity": low, "hashtag": "#sun"}, per_unit),
        ServiceType.MENTIONS_USER_FOLLOWERS: ({"quantity": low, "username": "who"}, per_unit),
        ServiceType.MENTIONS_MEDIA_LIKERS: ({"quantity": low, "media": LINK}, per_unit),
        ServiceType.COMMENT_LIKES: ({"quantity": low, "username": "author"}, per_unit),
        ServiceType.COMMENT_REPLIES: ({"username": "author", "comments": lines}, per_unit),
        ServiceType.POLL: ({"quantity": low, "answer_number": 2}, per_unit),
        ServiceType.INVITES_FROM_GROUPS: ({"quantity": low, "groups": ["g1", "g2"]}, per_unit),
        ServiceType.SUBSCRIPTIONS: (
            {
                "link": None,
                "username": "someone",
                "min": low,
                "max": low,
                "posts": 3,
                "delay": 30,
                "expiry": "31/12/2030",
            },
            per_unit * 3,
        ),
        ServiceType.WEB_TRAFFIC: ({"quantity": low, "country": "US", "device": 1}, per_unit),
    }
    fields, charge = orders[kind]
    return NewOrder.model_validate({**common, **fields}), charge


async def test_every_service_type_can_be_ordered_and_is_charged(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    sim.set_balance(key, Decimal(1000))
    services = await client.services(key)
    by_kind = {service.kind: service for service in reversed(services)}
    assert set(by_kind) == set(ServiceType)
    spent = Decimal(0)
    for kind, service in by_kind.items():
        order, charge = valid_order(service)
        order_id = await client.add(key, order)
        placed = sim.orders[order_id]
        assert placed.charge == charge, kind
        assert placed.fields == order.to_form()
        assert (await client.status(key, order_id)).charge == charge
        spent += charge
    assert sim.balance_of(key) == Decimal(1000) - spent


async def test_quantity_bounds_use_the_real_texts(client: PanelClient, key: str) -> None:
    with pytest.raises(PanelRejected) as caught:
        await client.add(key, NewOrder(service=1, link=LINK, quantity=49))
    assert caught.value.message == "Quantity less than minimal 50"
    with pytest.raises(PanelRejected) as caught:
        await client.add(key, NewOrder(service=1, link=LINK, quantity=10001))
    assert caught.value.message == "Quantity more than maximal 10000"


@pytest.mark.parametrize("link", ["hello", "@someone", "", "http://", "https://x"])
async def test_bad_links(client: PanelClient, key: str, link: str) -> None:
    with pytest.raises(PanelRejected) as caught:
        await client.add(key, NewOrder(service=1, link=link or None, quantity=100))
    assert caught.value.message == "Bad link"


@pytest.mark.parametrize("link", ["https://t.me/channel/5", "instagram.com/someone",
                                  "http://www.youtube.com/watch?v=x"])  # fmt: skip
async def test_good_links(client: PanelClient, key: str, link: str) -> None:
    assert await client.add(key, NewOrder(service=1, link=link, quantity=100)) >= 1000


async def test_subscriptions_need_username_not_link(client: PanelClient, key: str) -> None:
    services = await client.services(key)
    subscription = next(s for s in services if s.kind is ServiceType.SUBSCRIPTIONS)
    with pytest.raises(PanelRejected) as caught:
        await client.add(key, NewOrder(service=subscription.service, link=LINK, min=50, max=60))
    assert caught.value.code == "incorrect_request"
    order = NewOrder(service=subscription.service, username="me", min=50, max=60)
    assert await client.add(key, order) >= 1000


async def test_missing_fields_and_foreign_service(client: PanelClient, key: str) -> None:
    with pytest.raises(PanelRejected) as caught:
        await client.add(key, NewOrder(service=1, link=LINK))
    assert caught.value.code == "incorrect_request"
    with pytest.raises(PanelRejected) as caught:
        await client.add(key, NewOrder(service=0, link=LINK, quantity=100))
    assert caught.value.code == "incorrect_service"


async def test_dripfeed_only_where_allowed(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    order_id = await client.add(
        key, NewOrder(service=1, link=LINK, quantity=100, runs=5, interval=30)
    )
    assert sim.orders[order_id].charge == Decimal("0.45")
    assert sim.orders[order_id].quantity == 500
    with pytest.raises(PanelRejected) as caught:  # service 2 has no drip-feed
        await client.add(key, NewOrder(service=2, link=LINK, quantity=100, runs=5, interval=30))
    assert caught.value.code == "incorrect_request"


async def test_not_enough_funds_leaves_balance(
    client: PanelClient, sim: PanelSimulator, other_key: str
) -> None:
    with pytest.raises(PanelRejected) as caught:
        await client.add(other_key, NewOrder(service=1, link=LINK, quantity=10000))
    assert caught.value.message == "Not enough funds on balance"
    assert sim.balance_of(other_key) == Decimal(5)
    assert not sim.orders


async def test_duplicate_active_link_refused_when_asked(make_client, key: str) -> None:
    async with PanelSimulator(keys={key: Decimal(10)}, refuse_duplicate_links=True) as sim:
        client = make_client(sim.url)
        first = await client.add(key, NewOrder(service=1, link=LINK, quantity=100))
        with pytest.raises(PanelRejected) as caught:
            await client.add(key, NewOrder(service=1, link=LINK, quantity=100))
        assert caught.value.code == "link_duplicate"
        sim.set_order(first, status="Completed")
        assert await client.add(key, NewOrder(service=1, link=LINK, quantity=100)) == first + 1


async def test_more_than_100_ids_refused(sim: PanelSimulator, key: str) -> None:
    # The client never does this (it splits); the simulator must catch a client that would.
    form = {"key": key, "action": "status", "orders": ",".join(map(str, range(101)))}
    async with aiohttp.ClientSession() as session, session.post(sim.url, data=form) as response:
        assert await response.json() == {"error": "Incorrect request"}


async def test_unknown_action_and_missing_key(sim: PanelSimulator, key: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(sim.url, data={"key": key, "action": "teleport"}) as response:
            assert await response.json() == {"error": "Incorrect request"}
        async with session.post(sim.url, data={"action": "balance"}) as response:
            assert await response.json() == {"error": "Invalid API key"}


async def test_auto_progress(make_client, key: str) -> None:
    async with PanelSimulator(keys={key: Decimal(10)}, auto_progress=True) as sim:
        client = make_client(sim.url)
        order_id = await client.add(key, NewOrder(service=1, link=LINK, quantity=100))
        assert (await client.status(key, order_id)).status == "In progress"
        result = await client.statuses(key, [order_id])
        assert result[order_id].status == "Completed"  # type: ignore[union-attr]
        assert result[order_id].remains == 0  # type: ignore[union-attr]
        assert (await client.status(key, order_id)).status == "Completed"


async def test_no_progress_by_default(client: PanelClient, sim: PanelSimulator, key: str) -> None:
    order_id = await client.add(key, NewOrder(service=1, link=LINK, quantity=100))
    for _ in range(3):
        assert (await client.status(key, order_id)).status == "Pending"


async def test_refill_needs_refill_enabled_service(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    order_id = await client.add(key, NewOrder(service=5, link=LINK, quantity=100))
    sim.set_order(order_id, status="Completed")
    with pytest.raises(PanelRejected) as caught:  # service 5 has no refill
        await client.refill(key, order_id)
    assert caught.value.message == "Order not eligible for refill."
    partial = await client.add(key, NewOrder(service=1, link=LINK, quantity=100))
    sim.set_order(partial, status="partial")
    assert await client.refill(key, partial) == 500


async def test_refills_belong_to_their_key(
    client: PanelClient, sim: PanelSimulator, key: str, other_key: str
) -> None:
    order_id = await client.add(key, NewOrder(service=1, link=LINK, quantity=100))
    sim.set_order(order_id, status="Completed")
    refill_id = await client.refill(key, order_id)
    assert await client.refill_statuses(other_key, [refill_id]) == {
        refill_id: ItemError(message="Refill not found")
    }


async def test_cancel_refunds_and_bare_string_errors(make_client, key: str) -> None:
    async with PanelSimulator(keys={key: Decimal(10)}, bare_string_errors=True) as sim:
        client = make_client(sim.url)
        order_id = await client.add(key, NewOrder(service=1, link=LINK, quantity=1000))
        assert sim.balance_of(key) == Decimal("9.1")
        assert await client.cancel(key, [order_id, 1]) == {
            order_id: True,
            1: ItemError(message="Incorrect order ID"),
        }
        assert sim.orders[order_id].status == "Canceled"
        assert sim.balance_of(key) == Decimal(10)
        again = await client.cancel(key, [order_id])
        assert again == {order_id: ItemError(message="Order cannot be canceled.")}


async def test_request_log_and_reset(client: PanelClient, sim: PanelSimulator, key: str):
    await client.balance(key)
    await client.statuses(key, [1, 2])
    assert sim.request_count() == 2
    assert sim.request_count("status") == 1
    assert sim.requests[1] == ("status", {"orders": "1,2"})
    sim.reset_requests()
    assert sim.request_count() == 0


def test_catalogues() -> None:
    catalogue = PanelSimulator().catalogue
    assert len(catalogue) >= 60
    assert all(isinstance(entry["rate"], str) for entry in catalogue)
    assert {"0.90", "8", "0.0123"} <= {entry["rate"] for entry in catalogue}
    big = PanelSimulator.big_catalogue(5000)
    assert len(big) == 5000
    assert len({entry["service"] for entry in big}) == 5000


async def test_restart_on_a_new_port(key: str) -> None:
    sim = PanelSimulator(keys={key: Decimal(1)})
    first = await sim.start()
    await sim.stop()
    with pytest.raises(RuntimeError):
        _ = sim.url
    second = await sim.start()
    try:
        async with PanelClient(second, timeout=1) as client:
            assert (await client.balance(key)).balance == Decimal(1)
    finally:
        await sim.stop()
    assert first.endswith("/api/v2")
