"""The key never shows: not in exception texts, reprs, nor any log line."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from bot.panel.account import PanelAccount, key_fingerprint
from bot.panel.client import PanelClient
from bot.panel.errors import PanelError
from bot.panel.models import NewOrder
from bot.sandbox.simulator import PanelSimulator

ORDER = NewOrder(service=1, link="https://instagram.com/x", quantity=100)


def assert_hidden(key: str, error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    texts = [str(error), repr(error), *map(str, error.args), *map(repr, error.args)]
    texts += [str(getattr(error, "reason", "")), str(getattr(error, "message", ""))]
    texts += [str(error.__cause__), repr(error.__cause__)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [caplog.text]
    # Not even a part: a body cut short must not leave the key's first characters behind.
    assert all(key[:8] not in text for text in texts)


@pytest.mark.parametrize(
    ("fault", "action"),
    [(fault, "balance") for fault in
     ("html_500", "html_200", "empty", "garbage", "hang", "reset", "http_429", "json_4xx")]
    + [(fault, "add") for fault in ("hang_after", "reset", "garbage", "error")],
)  # fmt: skip
async def test_key_absent_from_failures(
    client: PanelClient,
    sim: PanelSimulator,
    key: str,
    fault: str,
    action: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.fail_next(fault, times=3, action=action, message=f"Bad request for key {key}")
    with pytest.raises(PanelError) as caught:
        if action == "add":
            await client.add(key, ORDER)
        else:
            await client.balance(key)
    assert caplog.records  # the failure was logged...
    assert_hidden(key, caught.value, caplog)  # ...without the key


async def test_key_absent_when_connection_refused(
    make_client, closed_port_url: str, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PanelError) as caught:
        await make_client(closed_port_url).balance(key)
    assert_hidden(key, caught.value, caplog)


async def test_panel_echoing_the_key_is_scrubbed(
    make_client, canned, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    panel = make_client(canned.url, read_retries=0)
    canned.reply(f'{{"error": "Invalid API key {key}."}}')
    with pytest.raises(PanelError) as caught:
        await panel.balance(key)
    assert "***" in caught.value.message  # type: ignore[attr-defined]
    assert_hidden(key, caught.value, caplog)
    canned.reply(f'[{{"order": 1, "cancel": {{"error": "no such order for {key}"}}}}]')
    result = await panel.cancel(key, [1])
    assert key not in repr(result)
    canned.reply(f"<html>{key}</html>")
    with pytest.raises(PanelError) as caught:
        await panel.balance(key)
    assert_hidden(key, caught.value, caplog)
    canned.reply(f"oops {key}")
    with pytest.raises(PanelError) as caught:
        await panel.balance(key)
    assert_hidden(key, caught.value, caplog)


async def test_successful_calls_log_no_key(
    account: PanelAccount, sim: PanelSimulator, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    order_id = await account.add(ORDER)
    await account.statuses([order_id])
    await account.services()
    assert key not in caplog.text


def test_account_repr_hides_key(account: PanelAccount, key: str) -> None:
    assert key not in repr(account)
    assert key not in str(account)
    assert account.key_fingerprint in repr(account)
    assert account.key_fingerprint == key_fingerprint(key)
    assert len(account.key_fingerprint) == 12
    assert key_fingerprint(key) != key_fingerprint(key + "x")


async def test_simulator_records_requests_without_key(
    account: PanelAccount, sim: PanelSimulator, key: str
) -> None:
    await account.add(ORDER)
    await account.balance()
    assert sim.requests == [
        ("add", {"service": "1", "link": "https://instagram.com/x", "quantity": "100"}),
        ("balance", {}),
    ]
    assert key not in repr(sim.requests)
    assert sim.orders[1000].key == key
    assert sim.balance_of(key) == Decimal("99.91")


@pytest.mark.parametrize(
    "body",
    ["Notice: bad key {key} in request", '{{"error": {{"code": 1, "detail": "{pad} {key}"}}}}'],
)
async def test_no_part_of_the_key_survives_a_cut_answer(
    make_client, canned, key: str, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Placed so that the 40- and 200-character cuts of the answer fall inside the key.
    canned.reply(body.format(key=key, pad="x" * 160))
    with pytest.raises(PanelError) as caught:
        await make_client(canned.url, read_retries=0).balance(key)
    assert_hidden(key, caught.value, caplog)
