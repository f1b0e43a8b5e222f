"""/broadcast end to end: the conversation, the audience, delivery, blocked people, cancel."""

from __future__ import annotations

from tests.bot.harness import ADMIN, ALICE, BOB, Harness
from tests.console.people import broadcast, progress_says, received, seed

TEXT = "Sale <50% & more> today"


async def test_a_text_with_a_button_reaches_everyone_not_blocked_once(harness: Harness) -> None:
    await seed(harness, range(5000, 5010))
    await seed(harness, [ALICE, BOB, ADMIN])
    assert harness.app is not None
    await harness.app.services.users.set_blocked(5009, True)

    await harness.say(ADMIN, "/broadcast")
    await harness.say(ADMIN, TEXT)
    await harness.press(ADMIN, "Add a link button")
    assert "label | https://link" in (await harness.say(ADMIN, "no url here")).text
    await harness.say(ADMIN, "Shop | https://example.com/shop")
    preview = await harness.press(ADMIN, "Everyone")
    assert "It goes to 12 people" in preview.text  # 9 seeded + Alice, Bob, the admin
    shown = [m for m in harness.tg.transcript(ADMIN) if m.from_bot and m.text == TEXT]
    assert shown and shown[0].button("Shop")["url"] == "https://example.com/shop"

    await harness.press(ADMIN, "Send to them", message=preview)
    await harness.tg.wait_for(lambda: progress_says(harness, "Broadcast finished"), 20)
    assert progress_says(harness, "Sent: 12 · blocked the bot: 0 · failed: 0 · left: 0")
    for chat_id in [*range(5000, 5009), ALICE, BOB]:
        assert received(harness, chat_id, TEXT) == 1, chat_id
        message = harness.tg.last_message(chat_id)
        assert message is not None and message.button("Shop")["url"] == "https://example.com/shop"
    assert received(harness, 5009, TEXT) == 0


async def test_people_who_blocked_the_bot_are_marked_and_left_out_next_time(
    harness: Harness,
) -> None:
    await seed(harness, range(6000, 6004))
    harness.tg.faults.block_chat(6001)  # blocked while the bot was not looking
    preview = await broadcast(harness, "First news")
    assert "It goes to 5 people" in preview.text  # with the admin
    await harness.press(ADMIN, "Send to them", message=preview)
    await harness.tg.wait_for(lambda: progress_says(harness, "Broadcast finished"), 20)
    assert progress_says(harness, "Sent: 4 · blocked the bot: 1")
    assert received(harness, 6001, "First news") == 0

    preview = await broadcast(harness, "Second news")
    assert "It goes to 4 people" in preview.text
    assert [m.text for m in harness.tg.transcript(ADMIN)].count("Preview:") == 2


async def test_a_photo_with_a_caption_to_one_language(harness: Harness) -> None:
    await seed(harness, range(7000, 7003), language="ru")
    await seed(harness, range(7100, 7103), language="en")
    await harness.say(ADMIN, "/broadcast")
    harness.tg.person(ADMIN).send_photo(caption="New services")
    await harness.settle()
    await harness.press(ADMIN, "No button")
    preview = await harness.press(ADMIN, "Language: ru")
    assert "It goes to 3 people" in preview.text
    await harness.press(ADMIN, "Send to them", message=preview)
    await harness.tg.wait_for(lambda: progress_says(harness, "Broadcast finished"), 20)
    for chat_id in range(7000, 7003):
        message = harness.tg.last_message(chat_id)
        assert message is not None and message.media == "photo"
        assert message.text == "New services"
    assert all(harness.tg.last_message(chat_id) is None for chat_id in range(7100, 7103))


async def test_abort_before_confirm_sends_nothing(harness: Harness) -> None:
    await seed(harness, range(8000, 8003))
    preview = await broadcast(harness, "Never")
    await harness.press(ADMIN, "Cancel", message=preview)
    assert "Not sent" in harness.last(ADMIN).text
    assert all(received(harness, chat_id, "Never") == 0 for chat_id in range(8000, 8003))


async def test_a_customer_cannot_broadcast(harness: Harness) -> None:
    reply = await harness.say(ALICE, "/broadcast")
    assert "Send the message to broadcast" not in reply.text
