"""Admins settle orders whose placement outcome is unknown."""

from __future__ import annotations

from bot.storage import OrderRow
from tests.bot.harness import ADMIN, ALICE, BOB, Harness
from tests.intents import write_intent

LIKES = 2  # Default service without drip-feed: link, then quantity


async def _order_with_lost_answer(harness: Harness) -> None:
    reply = await harness.say(ALICE, f"/search {LIKES}")
    reply = await harness.press(ALICE, f"#{LIKES} ")
    reply = await harness.press(ALICE, "Order")
    reply = await harness.say(ALICE, "https://instagram.com/p/abc")
    reply = await harness.say(ALICE, "100")
    assert "Please check your order" in reply.text
    harness.sim.fail_next("hang_after", action="add")
    reply = await harness.press(ALICE, "Confirm")
    await harness.settle()
    assert any("may have been placed" in text for text in harness.texts(ALICE))


async def test_admin_lists_and_links_an_unknown_order(harness: Harness) -> None:
    await _order_with_lost_answer(harness)
    assert len(harness.sim.orders) == 1
    panel_id = next(iter(harness.sim.orders))

    listing = await harness.say(ADMIN, "/unknown")
    assert "Local 1" in listing.text and str(ALICE) in listing.text

    reply = await harness.say(ADMIN, f"/resolve 1 {panel_id}")
    assert f"#{panel_id}" in reply.text
    told = harness.last(ALICE)
    assert f"#{panel_id}" in told.text and "was placed" in told.text
    assert "No order has an unknown outcome" in (await harness.say(ADMIN, "/unknown")).text

    card = await harness.say(ALICE, f"/order {panel_id}")
    assert "Status" in card.text


async def test_admin_settles_an_order_that_was_not_placed(harness: Harness) -> None:
    await _order_with_lost_answer(harness)
    reply = await harness.say(ADMIN, "/resolve 1 none")
    assert "Settled" in reply.text
    assert "was not placed" in harness.last(ALICE).text
    await harness.say(ALICE, "/orders")
    card = await harness.press(ALICE, "Instagram")
    assert "the operator checked that the panel has no such order" in card.text


async def test_resolve_checks_the_panel_and_the_arguments(harness: Harness) -> None:
    await _order_with_lost_answer(harness)
    reply = await harness.say(ADMIN, "/resolve 1 999999")
    assert "does not know this order" in reply.text
    assert "Usage" in (await harness.say(ADMIN, "/resolve 1")).text
    assert "Usage" in (await harness.say(ADMIN, "/resolve x 5")).text
    assert "No order of unknown outcome" in (await harness.say(ADMIN, "/resolve 77 5")).text


async def test_admin_commands_are_unknown_commands_for_others(harness: Harness) -> None:
    await _order_with_lost_answer(harness)
    for command in ("/unknown", "/resolve 1 none"):
        reply = await harness.say(BOB, command)
        # The same answer as any command the bot does not have: nothing listed, nothing settled.
        assert reply.text.startswith("I did not understand that.")
    assert harness.app is not None
    order = await harness.app.services.orders.get(1)
    assert order is not None and order.placement == "unknown"


async def test_a_confirmation_cut_off_by_a_crash_is_told_to_the_admins_and_the_owner(
    harness: Harness,
) -> None:
    assert harness.app is not None
    await harness.say(ADMIN, "/start")
    await harness.say(ALICE, "/start")
    # What a crash between writing the intent and the panel's answer leaves behind.
    intent = await _intent(harness, "cut-off")

    await harness.restart()
    await harness.tg.wait_for(
        lambda: any("may or may not have been placed" in t for t in harness.texts(ADMIN)), 10
    )
    assert f"Local ID: {intent.id}" in harness.last(ADMIN).text
    listing = await harness.say(ADMIN, "/unknown")
    assert f"Local {intent.id}" in listing.text

    # The person who confirmed it is told too, with a way to the order.
    await harness.tg.wait_for(
        lambda: any(
            "Your order may or may not have been placed" in t for t in harness.texts(ALICE)
        ),
        10,
    )
    notice = harness.last(ALICE)
    assert f"order {intent.id}" in notice.text
    assert notice.buttons

    await harness.restart()  # told once, not at every start
    assert f"Local {intent.id}" in (await harness.say(ADMIN, "/unknown")).text
    assert sum("may or may not have been placed" in t for t in harness.texts(ADMIN)) == 1
    assert sum("Your order may or may not" in t for t in harness.texts(ALICE)) == 1
    stored = await harness.app.services.orders.get(intent.id)
    assert stored is not None and stored.owner_told_at and stored.admins_told_at


async def test_a_stop_while_the_panel_holds_the_answer_tells_the_admins_and_the_owner(
    harness: Harness,
) -> None:
    """SIGTERM while `add` waits: the panel did the work, its answer never came."""
    await harness.restart_with(panel_timeout_seconds=30.0, shutdown_grace_seconds=0.2)
    await harness.say(ADMIN, "/start")
    await harness.start_order(ALICE, LIKES)
    await harness.say(ALICE, "https://instagram.com/p/abc")
    await harness.say(ALICE, "100")
    harness.sim.fail_next("hang_after", action="add")
    harness.tap(ALICE, "Confirm")
    await harness.sim.wait_for_requests(1, "add")

    await harness.stop()  # the handler is cut off after the grace; what it says still goes out
    assert len(harness.sim.orders) == 1
    assert any("may or may not have been placed" in t for t in harness.texts(ADMIN))
    assert any("Your order may or may not have been placed" in t for t in harness.texts(ALICE))

    await harness.start()  # nothing is told twice after the restart
    await harness.say(ADMIN, "/unknown")
    assert sum("may or may not have been placed" in t for t in harness.texts(ADMIN)) == 1
    assert sum("Your order may or may not" in t for t in harness.texts(ALICE)) == 1


async def _intent(
    harness: Harness, token: str, *, link: str = "https://instagram.com/p/abc"
) -> OrderRow:
    assert harness.app is not None
    return await write_intent(
        harness.app.services.orders, token, owner_id=ALICE, service_id=LIKES, link=link
    )


async def test_a_long_list_of_unknown_orders_fits_one_message(harness: Harness) -> None:
    assert harness.app is not None
    for n in range(60):
        intent = await _intent(harness, f"t{n}", link="https://instagram.com/p/" + "x" * 2000)
        await harness.app.services.orders.mark_unknown(intent.id, "lost")

    listing = await harness.say(ADMIN, "/unknown")

    assert listing.text.startswith("Orders of unknown outcome")
    assert "Local 1 " in listing.text
    assert "more." in listing.text and "/resolve LOCAL_ID" in listing.text


async def test_settling_the_order_of_a_person_who_blocked_the_bot(harness: Harness) -> None:
    await _order_with_lost_answer(harness)
    harness.tg.faults.block_chat(ALICE)

    await harness.say(ADMIN, "/resolve 1 none")

    assert harness.app is not None
    assert harness.texts(ADMIN)[-2].startswith("Settled")
    assert harness.last(ADMIN).text == "The person has blocked the bot and was not told."
    alice, admin = (
        await harness.app.services.users.get(ALICE),
        await harness.app.services.users.get(ADMIN),
    )
    assert alice is not None and alice.blocked
    assert admin is not None and not admin.blocked


async def test_admins_settle_orders_in_own_key_mode_without_a_key(
    own_key_harness: Harness,
) -> None:
    h = own_key_harness
    assert "No order has an unknown outcome" in (await h.say(ADMIN, "/unknown")).text
    assert "Usage" in (await h.say(ADMIN, "/resolve")).text


async def test_a_crash_leftover_too_young_at_start_is_recovered_once_old_enough(
    harness: Harness,
) -> None:
    """An intent younger than twice the panel timeout may be another instance's Confirm at the
    start; once older, the running worker hands it to the admins (no restart needed)."""
    assert harness.app is not None
    await harness.say(ADMIN, "/start")
    intent = await write_intent(
        harness.app.services.orders, "young", owner_id=ALICE, service_id=LIKES, age=0.0
    )
    # Lease renewals (and so recovery) every 0.5 s; the panel timeout is 0.5 s: old at 1 s.
    await harness.restart_with(worker_lease_seconds=1.5)
    await harness.tg.wait_for(
        lambda: any(f"Local ID: {intent.id}" in t for t in harness.texts(ADMIN)), 10
    )
