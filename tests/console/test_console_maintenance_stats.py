"""/maintenance closes the shop to customers (not to admins, not their orders); /stats draws
the 30-day chart and lists the numbers."""

from __future__ import annotations

from tests.bot.harness import ADMIN, ALICE, Harness

LIKES = 2


async def test_maintenance_closes_the_catalogue_and_ordering_to_customers_only(
    harness: Harness,
) -> None:
    # An order started before: its Confirm is refused while the shop is closed.
    await harness.say(ALICE, f"/search {LIKES}")
    await harness.press(ALICE, f"#{LIKES} ")
    await harness.press(ALICE, "Order")
    await harness.say(ALICE, "https://instagram.com/p/abc")
    check = await harness.say(ALICE, "100")
    assert "Please check your order" in check.text

    reply = await harness.say(ADMIN, "/maintenance on")
    assert "Maintenance is on" in reply.text
    assert "Maintenance is on" in (await harness.say(ADMIN, "/maintenance")).text

    query = harness.tap(ALICE, "Confirm", message=check)
    await harness.settle()
    assert "closed for maintenance" in harness.answer_of(query)
    assert harness.sim.orders == {}
    assert "closed for maintenance" in (await harness.say(ALICE, "/new")).text
    assert "closed for maintenance" in (await harness.say(ALICE, "/search likes")).text
    assert "closed for maintenance" not in (await harness.say(ALICE, "/orders")).text
    # Admins still see the shop, to check it before opening it again.
    assert "closed for maintenance" not in (await harness.say(ADMIN, "/new")).text

    # Every instance reads the switch from the database: a restart keeps it.
    await harness.restart()
    assert "closed for maintenance" in (await harness.say(ALICE, "/new")).text
    assert "open again" in (await harness.say(ADMIN, "/maintenance off")).text
    assert "closed for maintenance" not in (await harness.say(ALICE, "/new")).text


async def test_customers_cannot_switch_maintenance(harness: Harness) -> None:
    reply = await harness.say(ALICE, "/maintenance on")
    assert "Maintenance is on" not in reply.text
    assert "closed for maintenance" not in (await harness.say(ALICE, "/new")).text


async def test_stats_sends_a_chart_and_the_numbers(harness: Harness) -> None:
    empty = await harness.say(ADMIN, "/stats")
    assert "No orders were placed" in empty.text

    await harness.say(ALICE, f"/search {LIKES}")
    await harness.press(ALICE, f"#{LIKES} ")
    await harness.press(ALICE, "Order")
    await harness.say(ALICE, "https://instagram.com/p/abc")
    await harness.say(ALICE, "100")
    await harness.press(ALICE, "Confirm")
    assert len(harness.sim.orders) == 1

    listing = await harness.say(ADMIN, "/stats")
    photos = [
        c for c in harness.tg.calls_of("sendPhoto") if c.chat_id == ADMIN and c.error_code is None
    ]
    assert len(photos) == 2
    chart = [m for m in harness.tg.transcript(ADMIN) if m.media == "photo"][-1]
    assert "Last 30 days" in chart.text and "1 orders" in chart.text
    assert ": 1 orders, " in listing.text
