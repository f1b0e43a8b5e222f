"""Panel failures: reads are retried, state changes are not resent once they may have arrived."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from bot.panel.client import PanelClient
from bot.panel.errors import (
    InvalidKey,
    OrderOutcomeUnknown,
    PanelRejected,
    PanelUnavailable,
)
from bot.panel.models import NewOrder
from bot.sandbox.simulator import PanelSimulator

ORDER = NewOrder(service=1, link="https://instagram.com/x", quantity=100)
RETRIED_FAULTS = ["html_500", "html_200", "empty", "garbage", "hang", "reset"]
# A read is retried read_retries (2) times: three attempts in all.
ATTEMPTS = 3


@pytest.mark.parametrize("fault", RETRIED_FAULTS)
async def test_read_fault_retried_then_unavailable(
    client: PanelClient, sim: PanelSimulator, key: str, fault: str
) -> None:
    sim.fail_next(fault, times=ATTEMPTS, action="balance")
    with pytest.raises(PanelUnavailable) as caught:
        await client.balance(key)
    assert type(caught.value) is PanelUnavailable
    assert caught.value.reason
    assert sim.request_count("balance") == ATTEMPTS


async def test_a_rate_limited_read_is_not_asked_again_at_once(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    sim.fail_next("http_429", times=ATTEMPTS, action="balance")
    with pytest.raises(PanelUnavailable) as caught:
        await client.balance(key)
    assert "429" in caught.value.reason
    assert sim.request_count("balance") == 1  # the caller backs off, not the client


async def test_a_balance_asked_as_a_hint_is_tried_once(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    sim.fail_next("html_500", times=1, action="balance")
    with pytest.raises(PanelUnavailable):
        await client.balance(key, retries=0)
    assert sim.request_count("balance") == 1
    assert (await client.balance(key)).balance == Decimal(100)  # the client's default again


@pytest.mark.parametrize("fault", RETRIED_FAULTS)
async def test_read_fault_on_first_try_recovers(
    client: PanelClient, sim: PanelSimulator, key: str, fault: str
) -> None:
    sim.fail_next(fault, action="status")
    order_id = await client.add(key, ORDER)
    statuses = await client.statuses(key, [order_id])
    assert statuses[order_id].status == "Pending"  # type: ignore[union-attr]
    assert sim.request_count("status") == 2


@pytest.mark.parametrize("fault", ["html_500", "html_200", "empty", "garbage", "hang", "reset"])
async def test_add_fault_after_sending_is_outcome_unknown_and_not_resent(
    client: PanelClient, sim: PanelSimulator, key: str, fault: str
) -> None:
    sim.fail_next(fault, times=5, action="add")
    with pytest.raises(OrderOutcomeUnknown):
        await client.add(key, ORDER)
    assert sim.request_count("add") == 1


async def test_add_hang_after_placing_leaves_exactly_one_order(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    sim.fail_next("hang_after", times=5, action="add")
    with pytest.raises(OrderOutcomeUnknown):
        await client.add(key, ORDER)
    assert sim.request_count("add") == 1
    assert len(sim.orders) == 1
    assert sim.balance_of(key) == Decimal("100") - Decimal("0.09")


async def test_add_rate_limited_is_unavailable_not_unknown_and_not_resent(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    sim.fail_next("http_429", action="add")
    with pytest.raises(PanelUnavailable) as caught:
        await client.add(key, ORDER)
    assert type(caught.value) is PanelUnavailable
    assert sim.request_count("add") == 1


async def test_add_connection_refused_is_unavailable_not_unknown(
    make_client, closed_port_url: str, key: str
) -> None:
    with pytest.raises(PanelUnavailable) as caught:
        await make_client(closed_port_url).add(key, ORDER)
    assert type(caught.value) is PanelUnavailable
    assert "cannot connect" in caught.value.reason


async def test_add_retries_while_nothing_was_sent(
    make_client, closed_port_url: str, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "bot.panel.client")
    with pytest.raises(PanelUnavailable):
        await make_client(closed_port_url, read_retries=2).add(key, ORDER)
    attempts = [r for r in caplog.records if "cannot connect" in r.getMessage()]
    assert len(attempts) == 3


@pytest.mark.parametrize("action", ["refill", "cancel"])
@pytest.mark.parametrize("fault", ["hang", "reset", "html_500"])
async def test_state_changes_not_resent_after_sending(
    client: PanelClient, sim: PanelSimulator, key: str, action: str, fault: str
) -> None:
    order_id = await client.add(key, ORDER)
    sim.set_order(order_id, status="Completed")
    sim.fail_next(fault, times=5, action=action)
    with pytest.raises(PanelUnavailable) as caught:
        if action == "refill":
            await client.refill(key, order_id)
        else:
            await client.cancel(key, [order_id])
    assert not isinstance(caught.value, OrderOutcomeUnknown)
    assert sim.request_count(action) == 1


async def test_rejection_is_not_retried(client: PanelClient, sim: PanelSimulator, key: str) -> None:
    sim.fail_next("error", times=5, message="Service temporarily disabled", action="services")
    with pytest.raises(PanelRejected) as caught:
        await client.services(key)
    assert type(caught.value) is PanelRejected
    assert caught.value.message == "Service temporarily disabled"
    assert caught.value.code is None
    assert sim.request_count("services") == 1


async def test_invalid_key_with_trailing_period(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    sim.fail_next("error", message="Invalid API key.")
    with pytest.raises(InvalidKey) as caught:
        await client.balance(key)
    assert caught.value.message == "Invalid API key."
    assert sim.request_count() == 1


async def test_json_error_with_4xx_is_a_rejection(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    sim.fail_next("json_4xx", action="add")
    with pytest.raises(PanelRejected) as caught:
        await client.add(key, ORDER)
    assert caught.value.code == "not_enough_funds"
    sim.fail_next("json_4xx", message="Bad link")
    with pytest.raises(PanelRejected) as caught:
        await client.balance(key)
    assert caught.value.message == "Bad link"
    assert sim.request_count() == 2


@pytest.mark.parametrize("status", [301, 302, 307])
async def test_redirect_not_followed(make_client, canned, status: int) -> None:
    canned.reply("", status=status, headers={"Location": "http://127.0.0.1:9/steal"})
    with pytest.raises(PanelUnavailable) as caught:
        await make_client(canned.url, read_retries=0).balance("k")
    assert f"HTTP {status}" in caught.value.reason
    assert len(canned.forms) == 1


async def test_4xx_without_json_is_unavailable(make_client, canned) -> None:
    canned.reply("<html>403 Forbidden</html>", status=403)
    with pytest.raises(PanelUnavailable) as caught:
        await make_client(canned.url, read_retries=1).balance("k")
    assert "HTTP 403" in caught.value.reason
    assert len(canned.forms) == 2


async def test_5xx_with_json_error_is_unavailable(make_client, canned) -> None:
    canned.reply('{"error": "Database is down"}', status=500)
    with pytest.raises(PanelUnavailable):
        await make_client(canned.url, read_retries=0).balance("k")
    with pytest.raises(OrderOutcomeUnknown):
        await make_client(canned.url).add("k", ORDER)


async def test_fault_limited_to_its_action(
    client: PanelClient, sim: PanelSimulator, key: str
) -> None:
    sim.fail_next("html_500", times=3, action="status")
    assert (await client.balance(key)).balance == Decimal(100)
    sim.clear_faults()
    assert (await client.services(key))[0].service == 1


async def test_fail_next_rejects_unknown_fault(sim: PanelSimulator) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        sim.fail_next("meteor")
    with pytest.raises(ValueError):
        sim.fail_next("hang", times=0)


async def test_hang_does_not_block_simulator_shutdown(key: str) -> None:
    sim = PanelSimulator(keys={key: Decimal(1)})
    url = await sim.start()
    sim.fail_next("hang")
    async with PanelClient(url, timeout=30, read_retries=0) as client:
        pending = asyncio.create_task(client.balance(key))
        await asyncio.wait_for(sim.wait_for_requests(1), timeout=5)
        await asyncio.wait_for(sim.stop(), timeout=5)
        with pytest.raises(PanelUnavailable):
            await asyncio.wait_for(pending, timeout=5)


def test_the_wait_between_reads_doubles_with_jitter() -> None:
    client = PanelClient("http://127.0.0.1:9/api/v2", retry_backoff=0.5)
    for attempt in range(4):
        base = 0.5 * 2**attempt
        waits = {client._backoff(attempt) for _ in range(200)}
        assert all(base <= wait <= base * 1.5 for wait in waits)
        assert len(waits) > 100  # jitter: clients failing together do not retry together
