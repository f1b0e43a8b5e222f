"""The bot works in private chats only: in a group nobody's account or key is shown."""

from __future__ import annotations

from typing import Any

from tests.bot.harness import ALICE, SHARED_KEY, STRANGER, Harness

GROUP = -100500


def group_message(harness: Harness, user: int, text: str, message_id: int) -> None:
    """`user` writes `text` in a group the bot was added to."""
    payload: dict[str, Any] = {
        "message_id": message_id,
        "from": {"id": user, "is_bot": False, "first_name": "Test", "language_code": "en"},
        "chat": {"id": GROUP, "type": "supergroup", "title": "Friends"},
        "date": 1_700_000_000,
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        payload["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    harness.tg.add_update({"message": payload})


def sent_to_group(harness: Harness) -> list[dict[str, Any]]:
    return [c.params for c in harness.tg.calls_of("sendMessage") if c.chat_id == GROUP]


async def test_a_group_gets_one_line_and_no_account(harness: Harness) -> None:
    group_message(harness, ALICE, "/balance", 1)
    group_message(harness, ALICE, "/orders", 2)
    group_message(harness, STRANGER, "/start", 3)
    await harness.settle()

    [notice] = sent_to_group(harness)
    assert notice["text"] == "I work in private chats only: write to me directly."
    assert harness.sim.request_count() == 0
    # Nothing was said in private either, and a stranger in a group got no refusal there.
    assert harness.tg.calls_of("sendMessage") == [
        c for c in harness.tg.calls_of("sendMessage") if c.chat_id == GROUP
    ]
    assert harness.app is not None
    assert await harness.app.services.users.get(STRANGER) is None


async def test_a_key_sent_in_a_group_is_deleted(harness: Harness) -> None:
    group_message(harness, ALICE, f"/connect {SHARED_KEY}", 7)
    await harness.settle()
    [deleted] = harness.tg.calls_of("deleteMessage")
    assert deleted.params["chat_id"] == GROUP
    assert int(deleted.params["message_id"]) == 7
    assert SHARED_KEY not in harness.recorded_text()


async def test_chatter_in_a_group_gets_no_answer(harness: Harness) -> None:
    group_message(harness, ALICE, "hello everyone", 1)
    await harness.settle()
    assert sent_to_group(harness) == []
