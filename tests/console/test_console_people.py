"""/user, /ban and /unban: a person's card found by ID or username; a banned person gets one
polite line and nothing else, while their orders are still tracked."""

from __future__ import annotations

from tests.bot.harness import ADMIN, ALICE, BOB, Harness

LIKES = 2


async def test_a_persons_card_by_id_and_by_username(harness: Harness) -> None:
    harness.tg.send_text(ALICE, "/start", username="Alice_Shop")
    await harness.settle()
    await harness.say(ALICE, f"/search {LIKES}")
    await harness.press(ALICE, f"#{LIKES} ")
    await harness.press(ALICE, "Order")
    await harness.say(ALICE, "https://instagram.com/p/abc")
    await harness.say(ALICE, "100")
    await harness.press(ALICE, "Confirm")
    panel_id = next(iter(harness.sim.orders))

    card = await harness.say(ADMIN, f"/user {ALICE}")
    assert f"Person {ALICE}" in card.text and "@alice_shop" in card.text
    assert "Orders: 1" in card.text and f"Order #{panel_id}" in card.text
    assert "Banned: no" in card.text
    assert card.text == (await harness.say(ADMIN, "/user @Alice_Shop")).text
    assert "Nobody found" in (await harness.say(ADMIN, "/user @nobody_here")).text
    assert "has used the bot" in (await harness.say(ADMIN, "/user 424242")).text


async def test_a_banned_person_gets_one_line_and_their_orders_are_still_tracked(
    harness: Harness,
) -> None:
    await harness.say(ALICE, f"/search {LIKES}")
    await harness.press(ALICE, f"#{LIKES} ")
    await harness.press(ALICE, "Order")
    await harness.say(ALICE, "https://instagram.com/p/abc")
    await harness.say(ALICE, "100")
    await harness.press(ALICE, "Confirm")
    panel_id = next(iter(harness.sim.orders))

    assert "Banned" in (await harness.say(ADMIN, f"/ban {ALICE}")).text
    assert "no longer serves you" in (await harness.say(ALICE, "/orders")).text
    before = len(harness.tg.transcript(ALICE))
    await harness.say(ALICE, "/new")
    await harness.say(ALICE, "/balance")
    assert len(harness.tg.transcript(ALICE)) == before  # no answer, no second line
    assert "Banned: yes" in (await harness.say(ADMIN, f"/user {ALICE}")).text
    assert "no orders yet" in (await harness.say(BOB, "/orders")).text  # others are served

    harness.sim.set_order(panel_id, status="Completed")
    await harness.tg.wait_for(
        lambda: any("Completed" in m.text for m in harness.tg.transcript(ALICE)), 20
    )

    assert "Unbanned" in (await harness.say(ADMIN, f"/unban {ALICE}")).text
    assert "no longer serves you" not in (await harness.say(ALICE, "/orders")).text


async def test_customers_cannot_ban(harness: Harness) -> None:
    await harness.say(ALICE, f"/ban {BOB}")
    assert "no longer serves you" not in (await harness.say(BOB, "/orders")).text
