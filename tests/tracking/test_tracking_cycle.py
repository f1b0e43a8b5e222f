"""The tracker against the panel simulator over HTTP: batching, schedule, finals, failures."""

import asyncio
import logging
import time

import pytest

from bot.panel.account import key_fingerprint
from bot.sandbox.simulator import Outage
from tests.tracking.world import ALICE, BASE, MAX, OTHER_KEY, SHARED_KEY, World

TRACKING_LOG = "bot.services.tracking"


def tracking_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == TRACKING_LOG and r.levelno == level]


async def test_250_due_orders_take_exactly_3_status_requests(world: World) -> None:
    orders = await world.place(count=250)
    world.sim.reset_requests()

    report = await world.tracker().run_cycle()

    requests = world.panel_requests("status")
    assert len(requests) == 3
    assert all("order" not in form for form in requests)  # the multi form only
    asked = [int(i) for form in requests for i in form["orders"].split(",")]
    assert sorted(asked) == sorted(o.panel_order_id for o in orders)
    assert [len(form["orders"].split(",")) for form in requests] == [100, 100, 50]
    assert (report.requests, report.orders_polled, report.changed) == (3, 250, 250)
    assert report.errors == 0
    for order in orders:
        assert (await world.order(order.id)).status == "Pending"


async def test_orders_not_due_are_not_asked(world: World) -> None:
    await world.place(count=2)
    tracker = world.tracker()
    await tracker.run_cycle()
    world.sim.reset_requests()

    world.clock.advance(BASE - 1)
    report = await tracker.run_cycle()

    assert report.requests == 0
    assert world.sim.request_count() == 0


async def test_a_final_order_is_never_asked_again(world: World) -> None:
    (order, other) = await world.place(count=2)
    tracker = world.tracker()
    await tracker.run_cycle()
    world.sim.set_order(order.panel_order_id, status="Completed", remains=0)
    world.clock.advance(BASE)
    await tracker.run_cycle()
    stored = await world.order(order.id)
    assert (stored.status, stored.final, stored.next_poll_at) == ("Completed", True, None)
    world.sim.reset_requests()

    for _ in range(5):
        world.clock.advance(MAX * 10)
        await tracker.run_cycle()

    asked = {int(i) for form in world.panel_requests("status") for i in form["orders"].split(",")}
    assert asked == {other.panel_order_id}  # the other order is still tracked, this one never


@pytest.mark.parametrize(
    "status", ["Partial", "Canceled", "cancelled", "Refunded", "Fail", "ERROR"]
)
async def test_every_final_status_ends_tracking(world: World, status: str) -> None:
    (order,) = await world.place()
    world.sim.set_order(order.panel_order_id, status=status)

    await world.tracker().run_cycle()

    stored = await world.order(order.id)
    assert (stored.status, stored.final) == (status, True)
    assert await world.orders.due_for_tracking(world.clock.now + MAX * 100) == []


async def test_interval_grows_without_change_and_resets_on_change(world: World) -> None:
    (order,) = await world.place()
    tracker = world.tracker()
    start = world.clock.now

    async def poll() -> tuple[float | None, float | None]:
        report = await tracker.run_cycle()
        assert report.requests == 1
        stored = await world.order(order.id)
        assert stored.next_poll_at is not None
        return stored.poll_interval, stored.next_poll_at - world.clock.now

    assert await poll() == (BASE, BASE)  # first answer: a change (no status before)
    intervals = []
    for _ in range(4):
        world.clock.advance(intervals[-1] if intervals else BASE)
        interval, wait = await poll()
        assert interval == wait
        intervals.append(interval)
    assert intervals == [2 * BASE, 4 * BASE, MAX, MAX]

    world.sim.set_order(order.panel_order_id, status="In progress")
    world.clock.advance(MAX)
    assert await poll() == (BASE, BASE)
    assert world.clock.now - start == BASE + 2 * BASE + 4 * BASE + MAX + MAX


async def test_progress_is_stored_without_shortening_the_interval(world: World) -> None:
    (order,) = await world.place(quantity=1000)
    tracker = world.tracker()
    await tracker.run_cycle()
    world.sim.set_order(order.panel_order_id, remains=400, start_count=123)
    world.clock.advance(BASE)

    report = await tracker.run_cycle()

    stored = await world.order(order.id)
    assert (stored.status, stored.remains, stored.start_count) == ("Pending", 400, 123)
    assert stored.poll_interval == 2 * BASE
    assert report.changed == 0  # a status change is what counts


async def test_a_different_spelling_of_the_same_status_is_no_change(world: World) -> None:
    (order,) = await world.place()
    tracker = world.tracker()
    world.sim.set_order(order.panel_order_id, status="In progress")
    await tracker.run_cycle()
    world.sim.set_order(order.panel_order_id, status="IN PROGRESS")
    world.clock.advance(BASE)

    report = await tracker.run_cycle()

    assert report.changed == 0
    stored = await world.order(order.id)
    assert (stored.status, stored.poll_interval) == ("In progress", 2 * BASE)


async def test_unknown_status_is_kept_as_written_and_tracked(world: World) -> None:
    (order,) = await world.place()
    world.sim.set_order(order.panel_order_id, status="Waiting <for> refill")
    tracker = world.tracker()

    await tracker.run_cycle()

    stored = await world.order(order.id)
    assert (stored.status, stored.final) == ("Waiting <for> refill", False)
    world.clock.advance(BASE)
    assert (await tracker.run_cycle()).requests == 1


async def test_item_error_keeps_tracking_with_backoff_and_logs_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    ghost = await world.record(101, 987654)  # the panel has no such order
    (real,) = await world.place()
    tracker = world.tracker()
    caplog.set_level(logging.INFO, TRACKING_LOG)

    first = await tracker.run_cycle()
    world.clock.advance(2 * BASE)
    second = await tracker.run_cycle()

    assert (first.errors, first.orders_polled, second.errors) == (1, 1, 1)
    stored = await world.order(ghost.id)
    assert (stored.status, stored.final, stored.poll_interval) == (None, False, 4 * BASE)
    assert (await world.order(real.id)).status == "Pending"
    warnings = tracking_records(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert "Incorrect order ID" in warnings[0].getMessage()


async def test_orders_of_unknown_placement_are_not_asked(world: World) -> None:
    (placed,) = await world.place()
    intent = await world.orders.create_intent(
        intent_token="lost-answer",
        owner_id=101,
        account="shared",
        service_id=1,
        service_name="x",
        service_type="Default",
        rate=placed.rate,
        link="https://instagram.com/p/x",
        quantity=100,
        extra={},
        price=None,
        currency=None,
        refillable=False,
        cancelable=False,
    )
    assert intent is not None
    await world.orders.mark_unknown(intent.id, "answer lost")
    world.sim.reset_requests()

    report = await world.tracker().run_cycle()

    assert report.orders_polled == 1
    asked = world.panel_requests("status")[0]["orders"]
    assert asked == str(placed.panel_order_id)
    assert (await world.order(intent.id)).placement == "unknown"


async def test_panel_down_then_up(world: World, caplog: pytest.LogCaptureFixture) -> None:
    orders = await world.place(count=150)
    tracker = world.tracker()
    await tracker.run_cycle()
    for order in orders:
        world.sim.set_order(order.panel_order_id, status="In progress")
    world.sim.fail_next("html_500", times=4, action="status")
    caplog.set_level(logging.INFO)
    world.sim.reset_requests()

    cycles = 0
    while (await world.order(orders[-1].id)).status != "In progress":
        cycles += 1
        assert cycles < 20
        world.clock.advance(MAX * 1.25 + 1)  # past any backoff
        report = await tracker.run_cycle()
        if report.errors:
            # The first batch failed: the rest of the account waits instead of failing too.
            assert (report.requests, report.orders_polled) == (1, 0)

    assert world.sim.request_count("status") == 4 + 2
    assert all(o.status == "In progress" for o in [await world.order(o.id) for o in orders])
    # One line for the whole outage, from any logger: the client's failed attempts stay quiet.
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name == TRACKING_LOG, warnings
    recovered = tracking_records(caplog, logging.INFO)
    assert len(recovered) == 1 and "answers again" in recovered[0].getMessage()


async def test_during_an_outage_the_account_waits_for_its_backoff(world: World) -> None:
    await world.place(count=3)
    tracker = world.tracker()
    world.sim.fail_next("reset", times=1, action="status")

    assert (await tracker.run_cycle()).errors == 1
    # Postponed in the database too, so that the loop sleeps instead of cycling at once.
    assert await world.orders.due_for_tracking(world.clock.now + BASE - 0.001) == []
    world.sim.reset_requests()
    world.clock.advance(BASE / 2)  # the first retry waits at least BASE
    await tracker.run_cycle()
    assert world.sim.request_count() == 0

    world.clock.advance(BASE * 1.25)
    report = await tracker.run_cycle()
    assert (report.requests, report.orders_polled, report.errors) == (1, 3, 0)


async def test_refused_key_is_logged_once_and_asked_at_max_interval(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    (order,) = await world.place()
    tracker = world.tracker(shared_key="revoked-key")
    caplog.set_level(logging.INFO, TRACKING_LOG)

    first = await tracker.run_cycle()
    world.clock.advance(MAX)
    second = await tracker.run_cycle()

    assert (first.requests, first.errors, second.requests) == (1, 1, 1)
    stored = await world.order(order.id)
    assert (stored.status, stored.poll_interval) == (None, MAX)
    assert stored.next_poll_at == world.clock.now + MAX
    assert len(tracking_records(caplog, logging.WARNING)) == 1


async def test_orders_of_a_key_no_longer_connected_wait_max_interval(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    (gone,) = await world.place(account="fingerprint-of-a-deleted-key")
    caplog.set_level(logging.INFO, TRACKING_LOG)
    tracker = world.tracker(shared_key=None)  # own-key mode, and nobody has a key
    world.sim.reset_requests()

    for _ in range(3):
        report = await tracker.run_cycle()
        assert report.requests == 0
        world.clock.advance(MAX)

    assert world.sim.request_count() == 0
    stored = await world.order(gone.id)
    assert (stored.poll_interval, stored.final) == (MAX, False)
    assert len(tracking_records(caplog, logging.WARNING)) == 1


async def test_own_key_mode_batches_per_key(world: World) -> None:
    await world.keys.set(101, SHARED_KEY)
    await world.keys.set(102, OTHER_KEY)
    label_a, label_b = key_fingerprint(SHARED_KEY), key_fingerprint(OTHER_KEY)
    a = await world.place(101, count=120, key=SHARED_KEY, account=label_a)
    b = await world.place(102, count=30, key=OTHER_KEY, account=label_b)
    world.panel_keys.clear()

    report = await world.tracker(shared_key=None).run_cycle()

    assert report.requests == 3
    assert sorted(world.panel_keys) == sorted(
        [("status", SHARED_KEY), ("status", SHARED_KEY), ("status", OTHER_KEY)]
    )
    ids_a = {o.panel_order_id for o in a}
    for form in world.panel_requests("status"):
        asked = {int(i) for i in form["orders"].split(",")}
        assert asked <= ids_a or asked.isdisjoint(ids_a)  # never two keys' orders in one
    # Each order was asked with its own key: the panel answers only its key's orders.
    assert {(await world.order(o.id)).status for o in a + b} == {"Pending"}


async def test_refill_statuses_are_tracked_in_batches_until_final(world: World) -> None:
    orders = await world.place(count=3)
    refills = []
    for order in orders:
        world.sim.set_order(order.panel_order_id, status="Completed", remains=0)
        panel_refill = await world.client.refill(SHARED_KEY, order.panel_order_id)
        refills.append(
            await world.refills.create(
                order.id, panel_refill, order.owner_id, order.account, first_poll_at=world.clock.now
            )
        )
    tracker = world.tracker()
    world.sim.reset_requests()

    await tracker.run_cycle()
    assert len(world.panel_requests("refill_status")) == 1
    world.sim.set_refill(refills[0].panel_refill_id, "Completed")
    world.sim.set_refill(refills[1].panel_refill_id, "Rejected")
    world.clock.advance(BASE)
    report = await tracker.run_cycle()

    assert (report.refills_polled, report.changed) == (3, 2)
    stored = [await world.refill(r.id) for r in refills]
    assert [(r.status, r.final) for r in stored] == [
        ("Completed", True),
        ("Rejected", True),
        ("Pending", False),
    ]
    assert stored[2].poll_interval == 2 * BASE
    world.sim.reset_requests()
    world.clock.advance(2 * BASE)
    await tracker.run_cycle()
    (form,) = world.panel_requests("refill_status")
    assert form["refills"] == str(refills[2].panel_refill_id)


async def test_unknown_refill_is_still_tracked(world: World) -> None:
    (order,) = await world.place()
    refill = await world.refills.create(
        order.id, 4242, order.owner_id, order.account, first_poll_at=world.clock.now
    )
    tracker = world.tracker()

    report = await tracker.run_cycle()

    assert report.errors == 1
    stored = await world.refill(refill.id)
    assert (stored.status, stored.final, stored.poll_interval) == (None, False, BASE)


async def test_run_loop_polls_on_time_and_stops_cleanly(world: World) -> None:
    (order,) = await world.place()
    tracker = world.tracker(base_interval=0.05, max_interval=0.2, clock=time.time)

    tracker.start()
    tracker.start()  # a second start is a no-op
    await world.sim.wait_for_requests(1, "status")
    world.sim.set_order(order.panel_order_id, status="Completed")
    await world.tg.wait_for_call("sendMessage", chat_id=ALICE)  # told through on_changes
    assert (await world.order(order.id)).final
    await tracker.stop()
    await tracker.stop()

    # An open order, due at once: a loop still running would ask for it within max_interval.
    await world.place()
    count = world.sim.request_count("status")
    await asyncio.sleep(0.5)
    assert world.sim.request_count("status") == count


@pytest.mark.parametrize(("base", "maximum"), [(0, 1), (5, 1), (-1, 5)])
async def test_intervals_are_checked(world: World, base: float, maximum: float) -> None:
    with pytest.raises(ValueError):
        world.tracker(base_interval=base, max_interval=maximum)


async def test_answers_before_an_outage_are_stored_though_written_ten_requests_at_a_time(
    world: World,
) -> None:
    # Answers are written a thousand at a time. The panel answers the first 12 of 13
    # requests and then goes down: all 1,200 answers it gave are kept, the 1,000 written
    # mid-turn and the 200 still unwritten when the outage ended the account's turn.
    orders = await world.place(count=1_250)
    world.sim.fail_next("html_500", times=10, action="status", after=12)
    world.sim.reset_requests()

    report = await world.tracker().run_cycle()

    assert (report.orders_polled, report.changed) == (1_200, 1_200)
    stored = [await world.order(order.id) for order in orders]
    assert sum(order.status == "Pending" for order in stored) == 1_200
    assert [order.status for order in stored].count(None) == 50  # asked after the outage
    assert world.sim.request_count("status") >= 13


async def test_a_fault_can_let_requests_through_first(world: World) -> None:
    await world.place()
    world.sim.fail_next("html_500", action="status", after=2)
    tracker = world.tracker(base_interval=BASE)

    for _ in range(2):
        assert (await tracker.run_cycle()).errors == 0
        world.clock.advance(MAX)
    assert (await tracker.run_cycle()).errors == 1


async def test_an_answer_asked_before_the_order_ended_elsewhere_does_not_reopen_it(
    world: World,
) -> None:
    (order,) = await world.place()
    tracker = world.tracker()
    await tracker.run_cycle()
    world.clock.advance(MAX)
    world.sim.set_order(order.panel_order_id, status="In progress")
    world.sim.slow_seconds = 60
    world.sim.switch_outage(Outage.SLOW, True)
    asked = world.sim.request_count("status") + 1
    cycle = asyncio.create_task(tracker.run_cycle())
    await world.sim.wait_for_requests(asked, "status")
    # While the panel is still answering, the order ends elsewhere (the person cancels it).
    assert await world.end(order.id, "Canceled", remains=100)
    world.sim.switch_outage(Outage.SLOW, False)  # the older answer, "In progress", arrives

    report = await cycle

    stored = await world.order(order.id)
    assert (stored.status, stored.final, stored.next_poll_at) == ("Canceled", True, None)
    assert report.changed == 0
