"""A hostile or broken panel: floods, deep nesting, impossible values, echoed keys.

Each is served over real HTTP (tests/panel/hostile.py) and read by the real client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from urllib.parse import quote

import pytest

from bot.panel.client import ANSWER_CAP_BYTES, CATALOGUE_CAP_BYTES, THREAD_ABOVE_BYTES
from bot.panel.errors import OrderOutcomeUnknown, PanelRejected, PanelUnavailable
from bot.panel.models import NewOrder, OrderStatus
from tests.panel.hostile import HostilePanel, serving

KEY = "PANEL-KEY-0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c"
ORDER = NewOrder(service=1, link="https://t.me/channel", quantity=100)
MB = 2**20


@pytest.fixture
async def hostile() -> AsyncIterator[HostilePanel]:
    async with serving() as panel:
        yield panel


@pytest.fixture
def panel(make_client, hostile: HostilePanel):
    # Retries on, as in production: a refused flood must not be asked for again.
    return make_client(hostile.url, read_retries=2, timeout=10)


def service(ident: object, **fields: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "service": ident,
        "name": f"Service {ident}",
        "type": "Default",
        "category": "Followers",
        "rate": "0.90",
        "min": 10,
        "max": 1000,
    }
    entry.update(fields)
    return entry


# --- size caps ----------------------------------------------------------------------------------


async def test_an_endless_balance_is_cut_off_at_its_cap(
    panel, hostile: HostilePanel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "bot.panel")
    hostile.flood("balance", b'{"balance": "', 300 * MB)
    with pytest.raises(PanelUnavailable) as caught:
        await panel.balance(KEY)
    assert type(caught.value) is PanelUnavailable
    assert "larger than 1 MB" in caught.value.reason
    await hostile.flood_over.wait()
    # What the panel got out before the client hung up: the cap and the sockets' buffers, not
    # 300 MB. Counted in bytes sent, which is what the process would have had to hold.
    assert hostile.flood_sent < ANSWER_CAP_BYTES + 16 * MB
    assert hostile.request_count("balance") == 1  # not asked again
    assert [r.getMessage() for r in caplog.records] == [
        "panel 127.0.0.1: balance: answer larger than 1 MB (not retried)"
    ]
    assert KEY not in caplog.text


@pytest.mark.parametrize("announce", [True, False], ids=["with-length", "without-length"])
async def test_a_catalogue_over_its_cap_is_refused(
    panel, hostile: HostilePanel, announce: bool
) -> None:
    hostile.flood("services", b'[{"service": 1, "name": "', 62 * MB, announce=announce)
    with pytest.raises(PanelUnavailable) as caught:
        await panel.services(KEY)
    assert "larger than 16 MB" in caught.value.reason
    await hostile.flood_over.wait()
    assert hostile.flood_sent < CATALOGUE_CAP_BYTES + 16 * MB
    assert hostile.request_count("services") == 1


async def test_an_add_answer_over_its_cap_is_an_unknown_outcome(
    panel, hostile: HostilePanel
) -> None:
    hostile.flood("add", b'{"order": "', 50 * MB)
    with pytest.raises(OrderOutcomeUnknown):
        await panel.add(KEY, ORDER)
    assert hostile.request_count("add") == 1


async def test_a_catalogue_of_several_mb_is_read(panel, hostile: HostilePanel) -> None:
    entries = [service(i, desc="x" * 300) for i in range(1, 8001)]
    body = json.dumps(entries)
    assert THREAD_ABOVE_BYTES < len(body) < CATALOGUE_CAP_BYTES  # parsed off the event loop
    hostile.answer("services", body)
    services = await panel.services(KEY)
    assert [s.service for s in services] == list(range(1, 8001))


@pytest.mark.parametrize(
    ("separator", "tail", "readable"),
    [(",", "]", True), (" ,\n\t", " ]", True), (",", "],", False), (",", "", False),
     (" ", "]", False), (",", ",]", False)],
)  # fmt: skip
async def test_a_big_catalogue_is_read_as_strictly_as_a_small_one(
    panel, hostile: HostilePanel, separator: str, tail: str, readable: bool
) -> None:
    # Read entry by entry (to keep the loop free): the JSON rules must be the same as whole.
    entries = [json.dumps(service(i, desc="x" * 300)) for i in range(1, 1001)]
    body = "[\n" + separator.join(entries) + tail
    assert len(body) > THREAD_ABOVE_BYTES
    hostile.answer("services", body)
    if readable:
        assert len(await panel.services(KEY)) == 1000
    else:
        with pytest.raises(PanelUnavailable, match="not JSON"):
            await panel.services(KEY)


# --- nesting ------------------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000  # beyond the parser: RecursionError
NESTED = "[" * 40 + "1" + "]" * 40  # parsed, but deeper than any answer


@pytest.mark.parametrize("deep", [DEEP, NESTED], ids=["recursion", "nested"])
@pytest.mark.parametrize("where", ["whole", "field"])
async def test_deep_nesting_is_a_panel_fault(
    panel, hostile: HostilePanel, deep: str, where: str
) -> None:
    def body(field: str) -> str:
        return deep if where == "whole" else f'{{"{field}": {deep}}}'

    for action in ("balance", "status", "services", "refill", "cancel"):
        hostile.answer(action, body("error" if action != "services" else "1"))
    with pytest.raises(PanelUnavailable, match="nested too deeply"):
        await panel.balance(KEY)
    with pytest.raises(PanelUnavailable, match="nested too deeply"):
        await panel.status(KEY, 1)
    with pytest.raises(PanelUnavailable, match="nested too deeply"):
        await panel.statuses(KEY, [1, 2])
    with pytest.raises(PanelUnavailable, match="nested too deeply"):
        await panel.services(KEY)
    with pytest.raises(PanelUnavailable, match="nested too deeply"):
        await panel.cancel(KEY, [1])
    hostile.answer("add", body("order"))
    with pytest.raises(OrderOutcomeUnknown):
        await panel.add(KEY, ORDER)


# --- the catalogue ------------------------------------------------------------------------------


async def test_a_duplicate_service_id_keeps_the_first(
    panel, hostile: HostilePanel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "bot.panel")
    hostile.answer(
        "services",
        json.dumps([service(1, name="First"), service(2), service(1, name="Second"), service("1")]),
    )
    services = await panel.services(KEY)
    assert [(s.service, s.name) for s in services] == [(1, "First"), (2, "Service 2")]
    assert len(caplog.records) == 1  # one line for all the duplicates
    assert "2 services listed again" in caplog.records[0].getMessage()


async def test_entries_that_are_not_services_are_skipped_alone(
    panel, hostile: HostilePanel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "bot.panel")
    hostile.answer(
        "services", json.dumps(["a", 7, None, [1], service(3), {"service": "x"}, service(4)])
    )
    assert [s.service for s in await panel.services(KEY)] == [3, 4]
    assert len(caplog.records) == 1
    assert "skipped 5 malformed" in caplog.records[0].getMessage()


@pytest.mark.parametrize(
    "impossible",
    [{"rate": "-1"}, {"rate": -0.5}, {"rate": "NaN"}, {"rate": "Infinity"}, {"rate": "-inf"},
     {"min": 100, "max": 10}, {"min": -5}, {"min": 0, "max": 0}, {"max": -1}],
)  # fmt: skip
async def test_impossible_services_are_hidden(
    panel, hostile: HostilePanel, impossible: dict[str, object]
) -> None:
    hostile.answer("services", json.dumps([service(1, **impossible), service(2)]))
    assert [s.service for s in await panel.services(KEY)] == [2]


async def test_a_zero_minimum_is_still_offered(panel, hostile: HostilePanel) -> None:
    hostile.answer("services", json.dumps([service(1, min=0, max=5), service(2, rate=0)]))
    assert [s.service for s in await panel.services(KEY)] == [1, 2]


# --- impossible IDs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "order", ["0", "-5", '"-5"', str(2**63), str(2**64), f'"{2**64}"', "0.0", "-0"]
)
async def test_an_impossible_order_id_is_an_unknown_outcome(
    panel, hostile: HostilePanel, order: str
) -> None:
    hostile.answer("add", f'{{"order": {order}}}')
    with pytest.raises(OrderOutcomeUnknown):
        await panel.add(KEY, ORDER)
    assert hostile.request_count("add") == 1  # never resent


async def test_the_largest_order_id_is_placed(panel, hostile: HostilePanel) -> None:
    hostile.answer("add", f'{{"order": "{2**63 - 1}"}}')
    assert await panel.add(KEY, ORDER) == 2**63 - 1


@pytest.mark.parametrize("refill", ["0", "-3", str(2**63)])
async def test_an_impossible_refill_id_is_never_a_refill(
    panel, hostile: HostilePanel, refill: str
) -> None:
    hostile.answer("refill", f'{{"refill": {refill}}}')
    with pytest.raises(PanelUnavailable):
        await panel.refill(KEY, 5)
    assert hostile.request_count("refill") == 1  # a state change is not resent
    hostile.answer("refill", f'[{{"order": 5, "refill": {refill}}}, {{"order": 6, "refill": 9}}]')
    assert await panel.refills(KEY, [5, 6]) == {6: 9}  # 5's outcome stays unknown


# --- currency -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "currency",
    ['"US<D"', '"<a href=\\"https://evil.example\\">USD</a>"', '"DOLLARS"', '"U S D"', '"$"',
     '"usd1"', "12", '""', "null", "[]", '{"code": "EUR"}'],
)  # fmt: skip
async def test_a_currency_that_is_no_currency_is_absent(
    panel, hostile: HostilePanel, currency: str
) -> None:
    hostile.answer("balance", f'{{"balance": "5.5", "currency": {currency}}}')
    assert (await panel.balance(KEY)).currency == "USD"  # as when the panel says none
    hostile.answer("status", f'{{"status": "Pending", "currency": {currency}}}')
    assert (await panel.status(KEY, 1)).currency is None


@pytest.mark.parametrize("currency", ["EUR", "usdt", "RUB", "Coins"])
async def test_a_currency_of_letters_is_kept(panel, hostile: HostilePanel, currency: str) -> None:
    hostile.answer("balance", f'{{"balance": "5.5", "currency": "{currency}"}}')
    assert (await panel.balance(KEY)).currency == currency


# --- the key, in every text ---------------------------------------------------------------------

ENCODINGS = {
    "plain": KEY,
    "lower": KEY.lower(),
    "url": quote(KEY.lower(), safe="").replace("-", "%2D"),
    "html": "".join(f"&#{ord(c)};" for c in KEY),
    "json": "".join(f"\\u{ord(c):04x}" for c in KEY),
    "base64": base64.b64encode(KEY.encode()).decode(),
    "hex": KEY.encode().hex(),
}


@pytest.mark.parametrize("form", ENCODINGS.values(), ids=ENCODINGS.keys())
async def test_no_panel_text_shows_the_key(panel, hostile: HostilePanel, form: str) -> None:
    echo = f"seen {form} here"
    hostile.answer(
        "services",
        json.dumps(
            [service(1, name=echo, category=echo, desc=echo, type=echo)], ensure_ascii=False
        ).replace("\\\\u", "\\u"),
    )
    status = f'{{"status": "{echo}", "charge": "1", "remains": "0", "currency": "USD"}}'
    hostile.answer("status", status)
    hostile.answer("refill_status", f'{{"status": "{echo}"}}')
    hostile.answer("cancel", f'[{{"order": 1, "cancel": {{"error": "{echo}"}}}}]')
    hostile.answer("balance", f'{{"error": "{echo}"}}')
    hostile.answer("refill", f'{{"refill": {{"error": "{echo}"}}}}')
    found: list[object] = [
        await panel.services(KEY),
        await panel.status(KEY, 1),
        await panel.statuses(KEY, [1, 2]),
        await panel.refill_status(KEY, 1),
        await panel.refill_statuses(KEY, [1, 2]),
        await panel.cancel(KEY, [1]),
    ]
    for call in (panel.balance(KEY), panel.refill(KEY, 1)):
        with pytest.raises(PanelRejected) as caught:
            await call
        found.append(caught.value.message)
    shown = repr(found)
    assert KEY.lower() not in shown.lower()
    assert ENCODINGS["base64"] not in shown and ENCODINGS["hex"] not in shown
    assert "***" in shown
    first = await panel.services(KEY)
    assert (first[0].name, first[0].description) == ("seen *** here", "seen *** here")
    assert await panel.status(KEY, 1) == OrderStatus(
        status="seen *** here", charge=Decimal(1), remains=0, currency="USD"
    )


async def test_texts_without_the_key_are_left_alone(panel, hostile: HostilePanel) -> None:
    text = "100% real &amp; fast <b>x</b> %41"
    hostile.answer("services", json.dumps([service(1, name=text, desc=text)]))
    (only,) = await panel.services(KEY)
    assert only.description == text  # unescaping is the renderer's business


# --- a hanging panel ----------------------------------------------------------------------------


async def test_an_interactive_read_gives_up_at_its_deadline_across_retries(
    make_client, hostile: HostilePanel
) -> None:
    # Each attempt times out after 0.2 s, and 1,000 retries would take minutes.
    panel = make_client(hostile.url, timeout=0.2, read_retries=1000, deadline=0.6)
    hostile.hang("balance")
    with pytest.raises(PanelUnavailable, match=r"no answer within 0\.6 s") as caught:
        await panel.balance(KEY)
    assert type(caught.value) is PanelUnavailable
    assert 1 <= hostile.request_count("balance") < 10


async def test_a_state_change_cut_by_the_deadline_is_not_resent(
    make_client, hostile: HostilePanel
) -> None:
    panel = make_client(hostile.url, timeout=30, read_retries=5, deadline=0.3)
    hostile.hang("refill")
    with pytest.raises(PanelUnavailable, match="no answer within"):
        await panel.refill(KEY, 5)
    assert hostile.request_count("refill") == 1


async def test_the_tracker_keeps_its_patience(make_client, hostile: HostilePanel) -> None:
    panel = make_client(hostile.url, timeout=30, read_retries=0, deadline=0.3)
    hostile.answer("status", '{"1": {"status": "Pending"}, "2": {"status": "Completed"}}')
    hostile.hang("status")
    tracking = asyncio.create_task(panel.statuses(KEY, [1, 2]))
    with pytest.raises(PanelUnavailable, match="no answer within"):
        await panel.status(KEY, 1)  # a person's read: the deadline has passed...
    assert not tracking.done()  # ...and the tracker's still waits for the panel
    hostile.release()
    answers = await tracking
    assert answers[2] == OrderStatus(status="Completed")


async def test_placing_an_order_has_no_interactive_deadline(
    make_client, hostile: HostilePanel
) -> None:
    # Cutting `add` short would only make more orders of unknown outcome.
    panel = make_client(hostile.url, timeout=30, read_retries=0, deadline=0.3)
    hostile.answer("add", '{"order": 77}')
    hostile.hang("add")
    hostile.hang("balance")
    placing = asyncio.create_task(panel.add(KEY, ORDER))
    with pytest.raises(PanelUnavailable):
        await panel.balance(KEY)
    assert not placing.done()
    hostile.release()
    assert await placing == 77
