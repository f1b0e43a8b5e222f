"""Values a panel should never send, and failures of one item, stop tracking and telling for
nobody else: the poisoned item is skipped (and logged once), the others go on."""

import logging
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from bot.panel.account import PanelAccount
from bot.services.accounts import SHARED_LABEL, Account
from bot.services.ordering import OrderService
from bot.storage import KeyRepository, SecretBox, SecretDecryptError
from tests.tracking.world import ALICE, BASE, BOB, OTHER_KEY, SHARED_KEY, World

# JSON "\ud800": valid JSON, but a lone surrogate that SQLite (UTF-8) cannot store.
UNSTORABLE = "Stuck \ud800"


def records(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno >= logging.WARNING]


def assert_no_key(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        text = record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        assert SHARED_KEY not in text and OTHER_KEY not in text


async def test_numbers_out_of_bounds_are_stored_as_unknown_and_stop_nobody(
    world: World,
) -> None:
    """1e23 does not fit an SQLite INTEGER, and Babel cannot format a charge of 1E+400."""
    (alices,) = await world.place(ALICE, quantity=1000)
    (bobs,) = await world.place(BOB)  # in the same status request as Alice's order
    world.sim.set_order(
        alices.panel_order_id,
        status="Partial",
        remains=10**23,
        start_count=10**23,
        charge=Decimal("1E+400"),
    )
    world.sim.set_order(bobs.panel_order_id, status="Completed", remains=0)

    report = await world.tracker().run_cycle()
    await world.delivered()

    assert (report.orders_polled, report.changed, report.errors) == (2, 2, 0)
    stored = await world.order(alices.id)
    assert (stored.status, stored.final, stored.remains, stored.start_count) == (
        "Partial",
        True,
        None,
        None,
    )
    assert stored.charge == alices.charge  # the charge asked for at placement stays
    (alices_message,) = world.chat(ALICE)
    assert "Remains: unknown" in alices_message.text.splitlines()
    assert len(world.chat(BOB)) == 1


async def test_an_order_status_the_database_refuses_holds_up_that_order_only(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    (alices,) = await world.place(ALICE)
    (bobs,) = await world.place(BOB)  # in the same status request as Alice's order
    world.sim.set_order(alices.panel_order_id, status=UNSTORABLE)
    world.sim.set_order(bobs.panel_order_id, status="Completed", remains=0)
    tracker = world.tracker()

    report = await tracker.run_cycle()
    await world.delivered()

    assert (report.orders_polled, report.changed, report.errors) == (2, 1, 1)
    assert len(world.chat(BOB)) == 1
    assert (await world.order(bobs.id)).status == "Completed"
    stored = await world.order(alices.id)
    assert (stored.status, stored.final) == (None, False)  # as it was: still tracked
    assert stored.next_poll_at == world.clock.now + BASE * 2  # asked later, not every cycle

    world.clock.advance(BASE * 2)
    assert (await tracker.run_cycle()).errors == 1
    (logged,) = records(caplog, "bot.services.tracking")  # once, not every cycle
    assert logged.levelno == logging.ERROR and f"order {alices.id}" in logged.getMessage()
    assert logged.exc_info is not None
    assert_no_key(caplog)

    world.sim.set_order(alices.panel_order_id, status="Completed", remains=0)
    world.clock.advance(BASE * 4)
    await tracker.run_cycle()
    await world.delivered()
    assert (await world.order(alices.id)).status == "Completed"
    assert len(world.chat(ALICE)) == 1


async def test_a_refill_status_the_database_refuses_holds_up_that_refill_only(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    alices, bobs = (await world.place(ALICE))[0], (await world.place(BOB))[0]
    refills = []
    for order in (alices, bobs):
        world.sim.set_order(order.panel_order_id, status="Completed", remains=0)
        panel_refill = await world.client.refill(SHARED_KEY, order.panel_order_id)
        refill = await world.refills.create(
            order.id, panel_refill, order.owner_id, order.account, first_poll_at=world.clock.now
        )
        refills.append((refill, panel_refill))
    (alices_refill, alices_panel_refill), (bobs_refill, bobs_panel_refill) = refills
    world.sim.set_refill(alices_panel_refill, UNSTORABLE)
    world.sim.set_refill(bobs_panel_refill, "Completed")

    report = await world.tracker().run_cycle()
    await world.delivered()

    assert (report.refills_polled, report.errors) == (2, 1)
    assert (await world.refill(bobs_refill.id)).status == "Completed"
    assert (await world.refill(alices_refill.id)).status is None
    # Both orders' Completed, and Bob's refill, are told all the same (one message a chat).
    (bobs_message,) = world.chat(BOB)
    assert f"Refill #{bobs_panel_refill}" in bobs_message.text
    assert f"Order #{bobs.panel_order_id}" in bobs_message.text
    (alices_message,) = world.chat(ALICE)
    assert "Refill" not in alices_message.text
    (logged,) = records(caplog, "bot.services.tracking")
    assert f"refill {alices_refill.id}" in logged.getMessage()
    assert_no_key(caplog)


async def test_changes_are_told_even_when_a_cycle_fails(world: World) -> None:
    (alices,) = await world.place(ALICE)
    await world.place(BOB)  # due, so that the cycle needs the accounts
    # Alice opens her order's card and refreshes it: the new status is stored, to be told.
    world.sim.set_order(alices.panel_order_id, status="Completed", remains=0)
    account = Account(SHARED_LABEL, PanelAccount(world.client, SHARED_KEY))
    await OrderService(world.orders, world.refills, poll_interval=BASE).refresh(alices, account)
    # A stored key that cannot be decrypted (damaged, or encrypted with another secret).
    await KeyRepository(world.db, SecretBox(Fernet.generate_key())).set(BOB, OTHER_KEY)

    with pytest.raises(SecretDecryptError):
        await world.tracker(shared_key=None).run_cycle()
    await world.delivered()

    (message,) = world.chat(ALICE)
    assert "Status: ✅ Completed" in message.text.splitlines()


async def test_a_change_that_cannot_be_rendered_keeps_no_one_else_from_being_told(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    poisoned, alices = await world.place(ALICE, count=2)
    (bobs,) = await world.place(BOB)
    # As a version without bounds on panel numbers stored it: a charge Babel cannot format.
    await world.orders.apply_status(
        poisoned.id,
        status="Partial",
        remains=10,
        start_count=0,
        charge=Decimal("1E+400"),
        currency="USD",
        final=True,
        next_poll_at=None,
        poll_interval=None,
    )
    for order in (alices, bobs):
        world.sim.set_order(order.panel_order_id, status="Completed", remains=0)
    notifier = world.notifier
    assert notifier is not None

    await world.tracker().run_cycle()
    await world.delivered()

    assert len(world.chat(BOB)) == 1
    (message,) = world.chat(ALICE)
    assert f"Order #{alices.panel_order_id}" in message.text
    assert f"Order #{poisoned.panel_order_id}" not in message.text
    # Tried again at later flushes like a failed send, then given up with one error.
    for _ in range(4):
        assert await notifier.flush() == 0
        await world.delivered()
    assert len(world.chat(ALICE)) == 1
    # Each try's rendering error, from the views; then giving up, from the notifier.
    logged = records(caplog, "bot.views.notifications") + records(caplog, "bot.services.notifying")
    assert [r.exc_info is not None for r in logged] == [True, True, True, False]
    assert f"order {poisoned.id}" in logged[-1].getMessage()
    assert (await world.order(poisoned.id)).notified_status is None
