"""Every answer variant of the protocol file, served raw over HTTP and parsed by the client."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from bot.panel.errors import InvalidKey, OrderOutcomeUnknown, PanelRejected, PanelUnavailable
from bot.panel.models import ItemError, NewOrder, OrderStatus

KEY = "canned-key-1234567890"
ORDER = NewOrder(service=1, link="https://t.me/channel", quantity=100)


@pytest.fixture
def panel(make_client, canned):
    # A generous timeout: these tests are about answers, and a loaded machine is slow.
    return make_client(canned.url, read_retries=0, timeout=5)


@pytest.mark.parametrize(
    "body",
    ['{"order": 23501}', '{"order": "23501"}', '"23501"', "23501",
     '{"status": "success", "order": 23501}', '{"order": 23501, "error": null}',
     '\ufeff{"order": 23501}\n'],
)  # fmt: skip
async def test_add_answer_variants(panel, canned, body: str) -> None:
    canned.reply(body)
    assert await panel.add(KEY, ORDER) == 23501
    assert canned.forms[-1] == {
        "key": KEY,
        "action": "add",
        "service": "1",
        "link": "https://t.me/channel",
        "quantity": "100",
    }


@pytest.mark.parametrize("body", ['{"status": "success"}', "[]", '{"order": "abc"}', "null"])
async def test_add_answer_without_order_id_is_outcome_unknown(panel, canned, body: str) -> None:
    canned.reply(body)
    with pytest.raises(OrderOutcomeUnknown):
        await panel.add(KEY, ORDER)


async def test_services_protocol_example_and_variants(panel, canned) -> None:
    canned.reply(
        """[
        {"service": 1, "name": "Followers", "type": "Default", "category": "First Category",
         "rate": "0.90", "min": "50", "max": "10000", "refill": true, "cancel": true},
        {"service": "2", "name": "Comments", "type": "Custom Comments",
         "category": "Second Category", "rate": 8, "min": 10, "max": 1500, "refill": false,
         "cancel": true, "dripfeed": "1", "desc": "Fast", "average_time": "5 hours"},
        {"service": 3, "name": "Mystery &amp; Magic", "type": "Hologram Views",
         "category": "Third", "rate": 0.0123, "min": "100", "max": "1000",
         "refill": 0, "cancel": "0", "dripfeed": false}
        ]"""
    )
    first, second, third = await panel.services(KEY)
    assert (first.rate, first.min, first.refill, first.dripfeed) == (Decimal("0.90"), 50, True,
                                                                     False)  # fmt: skip
    assert (second.service, second.rate, second.dripfeed) == (2, Decimal(8), True)
    assert second.description == "Fast"
    assert third.rate == Decimal("0.0123")
    assert third.name == "Mystery & Magic"
    assert third.type == "Hologram Views"
    assert not third.type_known
    assert third.kind == "Default"


async def test_status_protocol_example(panel, canned) -> None:
    canned.reply(
        '{"charge": "0.27819", "start_count": "3572", "status": "Partial", "remains": "157",'
        ' "currency": "USD"}'
    )
    assert await panel.status(KEY, 1) == OrderStatus(
        status="Partial",
        charge=Decimal("0.27819"),
        start_count=3572,
        remains=157,
        currency="USD",
    )
    assert canned.forms[-1] == {"key": KEY, "action": "status", "order": "1"}


async def test_status_field_variants(panel, canned) -> None:
    canned.reply(
        '{"charge": 0.27819, "start_count": 3572, "status": "in progress", "remains": "Unknown",'
        ' "order": 1}'
    )
    status = await panel.status(KEY, 1)
    assert status.charge == Decimal("0.27819")
    assert status.start_count == 3572
    assert status.remains is None
    assert status.currency is None
    assert status.status == "in progress"


async def test_status_single_error(panel, canned) -> None:
    canned.reply('{"error": "Incorrect order ID"}')
    with pytest.raises(PanelRejected) as caught:
        await panel.status(KEY, 1)
    assert caught.value.code == "incorrect_order"


async def test_statuses_protocol_example_with_both_error_forms(panel, canned) -> None:
    canned.reply(
        """{"1": {"charge": "0.27819", "start_count": "3572", "status": "Partial",
                  "remains": "157", "currency": "USD"},
            "10": {"error": "Incorrect order ID"},
            "11": "Incorrect order ID",
            "100": {"charge": 1.44219, "start_count": 234, "status": "In progress",
                    "remains": 10, "currency": "USD"},
            "555": {"status": "Pending"}}"""
    )
    result = await panel.statuses(KEY, [1, 10, 11, 100, 12])
    assert canned.forms[-1]["orders"] == "1,10,11,100,12"
    assert result[1] == OrderStatus(
        status="Partial",
        charge=Decimal("0.27819"),
        start_count=3572,
        remains=157,
        currency="USD",
    )
    assert result[10] == ItemError(message="Incorrect order ID")
    assert result[11] == ItemError(message="Incorrect order ID")
    assert result[100].charge == Decimal("1.44219")  # type: ignore[union-attr]
    assert 12 not in result  # left out by the panel: unknown, not an error
    assert 555 not in result  # not asked for


async def test_statuses_one_id_answered_in_single_form(panel, canned) -> None:
    canned.reply('{"status": "Completed", "remains": "0", "charge": "1"}')
    result = await panel.statuses(KEY, [7])
    assert result == {7: OrderStatus(status="Completed", remains=0, charge=Decimal(1))}


async def test_statuses_error_for_whole_request(panel, canned) -> None:
    canned.reply('{"error": "Invalid API key"}')
    with pytest.raises(InvalidKey):
        await panel.statuses(KEY, [1, 2])


@pytest.mark.parametrize("body", ['{"refill": "1"}', '{"refill": 1}'])
async def test_refill_single(panel, canned, body: str) -> None:
    canned.reply(body)
    assert await panel.refill(KEY, 5) == 1
    assert canned.forms[-1] == {"key": KEY, "action": "refill", "order": "5"}


async def test_refill_single_errors(panel, canned) -> None:
    canned.reply('{"error": "Order not eligible for refill."}')
    with pytest.raises(PanelRejected) as caught:
        await panel.refill(KEY, 5)
    assert caught.value.code == "not_eligible_refill"
    canned.reply('{"refill": {"error": "Incorrect order ID"}}')
    with pytest.raises(PanelRejected) as caught:
        await panel.refill(KEY, 5)
    assert caught.value.code == "incorrect_order"


async def test_refills_multi_protocol_example(panel, canned) -> None:
    canned.reply(
        '[{"order": 1, "refill": 1}, {"order": "2", "refill": "2"},'
        ' {"order": 3, "refill": {"error": "Incorrect order ID"}},'
        ' {"order": 4, "refill": "Order not eligible for refill."}]'
    )
    assert await panel.refills(KEY, [1, 2, 3, 4]) == {
        1: 1,
        2: 2,
        3: ItemError(message="Incorrect order ID"),
        4: ItemError(message="Order not eligible for refill."),
    }
    assert canned.forms[-1]["orders"] == "1,2,3,4"


async def test_refill_status_single(panel, canned) -> None:
    canned.reply('{"status": "Completed"}')
    assert await panel.refill_status(KEY, 9) == "Completed"
    assert canned.forms[-1] == {"key": KEY, "action": "refill_status", "refill": "9"}
    canned.reply('{"error": "Refill not found"}')
    with pytest.raises(PanelRejected):
        await panel.refill_status(KEY, 9)


async def test_refill_statuses_multi_protocol_example(panel, canned) -> None:
    canned.reply(
        '[{"refill": 1, "status": "Completed"}, {"refill": 2, "status": "Rejected"},'
        ' {"refill": 3, "status": {"error": "Refill not found"}},'
        ' {"refill": 4, "status": "Refill not found"}, {"refill": 5, "status": "Error"}]'
    )
    assert await panel.refill_statuses(KEY, [1, 2, 3, 4, 5]) == {
        1: "Completed",
        2: "Rejected",
        3: ItemError(message="Refill not found"),
        4: ItemError(message="Refill not found"),
        5: "Error",
    }
    assert canned.forms[-1]["refills"] == "1,2,3,4,5"


async def test_cancel_protocol_example(panel, canned) -> None:
    canned.reply(
        '[{"order": 9, "cancel": {"error": "Incorrect order ID"}}, {"order": 2, "cancel": 1},'
        ' {"order": 3, "cancel": "1"}, {"order": 4, "cancel": 0}]'
    )
    assert await panel.cancel(KEY, [9, 2, 3, 4]) == {
        9: ItemError(message="Incorrect order ID"),
        2: True,
        3: True,
        4: False,
    }
    assert canned.forms[-1] == {"key": KEY, "action": "cancel", "orders": "9,2,3,4"}


@pytest.mark.parametrize(
    "body",
    ['{"balance": "100.84292", "currency": "USD"}',
     '{"balance": 100.84292, "currency": "USD", "status": "success"}',
     '{"balance": "100.84292"}'],
)  # fmt: skip
async def test_balance_variants(panel, canned, body: str) -> None:
    canned.reply(body)
    balance = await panel.balance(KEY)
    assert balance.balance == Decimal("100.84292")
    assert str(balance.balance) == "100.84292"
    assert balance.currency == "USD"


async def test_balance_seven_decimals_exact(panel, canned) -> None:
    canned.reply('{"balance": 0.1234567, "currency": "USD"}')
    assert (await panel.balance(KEY)).balance == Decimal("0.1234567")


@pytest.mark.parametrize("body", ['{"currency": "USD"}', "[]", '"ok"'])
async def test_unexpected_shapes_are_unavailable(panel, canned, body: str) -> None:
    canned.reply(body)
    with pytest.raises(PanelUnavailable):
        await panel.balance(KEY)


async def test_multi_answer_of_wrong_shape_is_unavailable(panel, canned) -> None:
    canned.reply('"all good"')
    with pytest.raises(PanelUnavailable):
        await panel.statuses(KEY, [1, 2])


async def test_error_object_with_nested_message(panel, canned) -> None:
    canned.reply('{"error": {"message": "neworder.error.link_duplicate"}}')
    with pytest.raises(PanelRejected) as caught:
        await panel.add(KEY, ORDER)
    assert caught.value.code == "link_duplicate"


async def test_services_keyed_by_id_are_read(panel, canned) -> None:
    canned.reply(
        '{"7": {"service": 7, "name": "X", "type": "Default", "category": "C", "rate": "1",'
        ' "min": 1, "max": 2, "refill": false, "cancel": false}}'
    )
    assert [s.service for s in await panel.services(KEY)] == [7]


@pytest.mark.parametrize("body", ['{"status": "ok"}', '[{"service": "x"}]', '["a"]', "{}1"])
async def test_unreadable_catalogue_is_unavailable(panel, canned, body: str) -> None:
    canned.reply(body)
    with pytest.raises(PanelUnavailable):
        await panel.services(KEY)


# --- odd answers found in review --------------------------------------------------------------


async def test_money_never_passes_through_a_float(panel, canned) -> None:
    canned.reply('{"balance": 12345678901.1234567, "currency": "USD"}')
    assert str((await panel.balance(KEY)).balance) == "12345678901.1234567"


@pytest.mark.parametrize("odd", ["\u00b2", "\u0663", "\uff17"])  # superscript, Arabic, full-width
async def test_an_id_in_other_digits_is_no_id(panel, canned, odd: str) -> None:
    canned.reply(f'{{"order": "{odd}"}}')
    with pytest.raises(OrderOutcomeUnknown):
        await panel.add(KEY, ORDER)
    canned.reply(f'{{"{odd}": {{"status": "Pending"}}, "7": {{"status": "Completed"}}}}')
    assert set(await panel.statuses(KEY, [7, 8])) == {7}


@pytest.mark.parametrize(
    ("call", "body"),
    [("statuses", '{"error": "Incorrect order ID"}'),
     ("refill_statuses", '{"error": "Incorrect order ID"}'),
     ("refills", '{"error": "Incorrect order ID"}')],
)  # fmt: skip
async def test_one_id_asked_in_the_multi_form_and_refused_in_the_single_form(
    panel, canned, call: str, body: str
) -> None:
    canned.reply(body)
    answer = await getattr(panel, call)(KEY, [7])
    assert answer == {7: ItemError(message="Incorrect order ID")}
    canned.reply('{"error": "Incorrect request"}')
    with pytest.raises(PanelRejected):  # for several IDs it is the whole call that was refused
        await getattr(panel, call)(KEY, [7, 8])
    canned.reply('{"error": "Invalid API key"}')
    with pytest.raises(InvalidKey):  # and a bad key is never one order's problem
        await getattr(panel, call)(KEY, [7])


async def test_one_refill_asked_in_the_multi_form_answered_in_the_single_form(
    panel, canned
) -> None:
    canned.reply('{"refill": "55"}')
    assert await panel.refills(KEY, [7]) == {7: 55}


async def test_item_errors_inside_objects_keyed_by_id(panel, canned) -> None:
    canned.reply('{"9": {"error": "Incorrect order ID"}, "2": {"cancel": 1}}')
    assert await panel.cancel(KEY, [9, 2]) == {9: ItemError(message="Incorrect order ID"), 2: True}
    canned.reply('[{"order": 9, "error": "Incorrect order ID"}, {"order": 2, "refill": 4}]')
    assert await panel.refills(KEY, [9, 2]) == {9: ItemError(message="Incorrect order ID"), 2: 4}


@pytest.mark.parametrize(
    "body",
    ['{"status": "Partial", "remains": "1e23", "start_count": 1e23, "charge": "1E+400"}',
     '{"status": "Partial", "remains": 100000000000000000000000, "start_count": "1e500000",'
     ' "charge": 1e300}',
     '{"status": "Partial", "remains": 1e500000, "start_count": 9223372036854775808,'
     ' "charge": "1e-400"}'],
)  # fmt: skip
async def test_numbers_out_of_bounds_are_unknown(panel, canned, body: str) -> None:
    canned.reply(body)
    started = time.perf_counter()
    assert await panel.status(KEY, 1) == OrderStatus(status="Partial")
    canned.reply(f'{{"1": {body}, "2": {{"status": "Completed", "remains": "0"}}}}')
    answers = await panel.statuses(KEY, [1, 2])
    assert answers == {
        1: OrderStatus(status="Partial"),
        2: OrderStatus(status="Completed", remains=0),
    }
    assert time.perf_counter() - started < 1.0  # 1e500000 was never turned into an int


async def test_a_service_with_a_number_out_of_bounds_is_skipped(panel, canned) -> None:
    canned.reply(
        '[{"service": 1, "name": "Huge", "type": "Default", "category": "C", "rate": "1E+400",'
        ' "min": 1, "max": 2},'
        ' {"service": 2, "name": "Endless", "type": "Default", "category": "C", "rate": "1",'
        ' "min": 1, "max": 1e500000},'
        ' {"service": 3, "name": "Fine", "type": "Default", "category": "C", "rate": "0.5",'
        ' "min": 10, "max": 100000}]'
    )
    assert [s.service for s in await panel.services(KEY)] == [3]


async def test_a_balance_out_of_bounds_is_unavailable(panel, canned) -> None:
    canned.reply('{"balance": "1E+400", "currency": "USD"}')
    with pytest.raises(PanelUnavailable):
        await panel.balance(KEY)
