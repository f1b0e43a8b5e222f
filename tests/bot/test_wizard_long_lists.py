"""A list answer longer than one Telegram message arrives in parts, and is taken whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.simulator import PanelSimulator
from bot.services.order_form import LIST_PART_LENGTH
from tests.bot.harness import ALICE, NO_TRACKING, Harness, running
from tests.fakes.telegram import FakeTelegram

CUSTOM_COMMENTS = 8  # 8 per 1000, from 10 to 1,500 comments
COMMENT_REPLIES = 10  # from 5 to 500 comments
SEND_THE_REST = "Send the rest, or press ✅ Done if that is all."
LINK = "https://instagram.com/p/abc"
TELEGRAM_LIMIT = 4096
NOT_UNDERSTOOD = "I did not understand that. Use the menu below, or send /help."


@pytest.fixture
async def harness(tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram) -> AsyncIterator[Harness]:
    async with running(tmp_path, sim, tg, **NO_TRACKING) as started:
        yield started


def split_as_telegram(lines: list[str]) -> list[str]:
    """The messages a client sends for the pasted lines: each under the limit, cut at a line end."""
    parts: list[list[str]] = [[]]
    for line in lines:
        if parts[-1] and len("\n".join([*parts[-1], line])) >= TELEGRAM_LIMIT:
            parts.append([])
        parts[-1].append(line)
    return ["\n".join(part) for part in parts]


COMMENTS = [f"Comment number {n} from a happy customer" for n in range(1, 601)]


async def test_600_comments_pasted_in_one_go_are_600_comments(harness: Harness) -> None:
    parts = split_as_telegram(COMMENTS)
    assert len(parts) > 2 and all(len(p) < TELEGRAM_LIMIT for p in parts)
    assert len(parts[-1]) < LIST_PART_LENGTH  # the last part, as a client sends it: shorter
    await harness.start_order(ALICE, CUSTOM_COMMENTS)
    await harness.say(ALICE, LINK)
    before = len(harness.tg.transcript(ALICE))

    for part in parts:  # as Telegram delivers them: one right after the other
        harness.tg.send_text(ALICE, part)
    await harness.settle()

    replies = [m.text for m in harness.tg.transcript(ALICE)[before:]]
    assert NOT_UNDERSTOOD not in replies
    counts = [r.split("\n\n")[-1] for r in replies[:-1]]
    assert counts == [
        f"Comments: {n:,} received so far. {SEND_THE_REST}" for n in (102, 201, 300, 399, 498, 597)
    ]
    confirmation = replies[-1]
    assert "Comments (600):\n  Comment number 1 from a happy customer" in confirmation
    assert "… and 595 more" in confirmation
    assert "Price: 4.8 USD" in confirmation  # 8 × 600 / 1000
    await harness.press(ALICE, "Confirm")

    (order,) = harness.sim.orders.values()
    assert order.fields["comments"].split("\n") == COMMENTS
    assert harness.sim.request_count("add") == 1


async def test_a_paste_whose_last_part_is_long_too_ends_with_done(harness: Harness) -> None:
    comments = [f"{n:03d} " + "x" * 35 for n in range(204)]
    parts = split_as_telegram(comments)
    assert len(parts) == 2 and all(len(p) >= LIST_PART_LENGTH for p in parts)
    await harness.start_order(ALICE, CUSTOM_COMMENTS)
    await harness.say(ALICE, LINK)

    await harness.say(ALICE, parts[0])
    waiting = await harness.say(ALICE, parts[1])
    assert waiting.text.endswith(f"Comments: 204 received so far. {SEND_THE_REST}")
    assert [b["text"] for b in waiting.buttons] == ["✅ Done", "⬅️ Back", "✖️ Cancel"]
    confirmation = await harness.press(ALICE, "✅ Done")

    assert "Comments (204):" in confirmation.text
    await harness.press(ALICE, "Confirm")
    (order,) = harness.sim.orders.values()
    assert order.fields["comments"].split("\n") == comments


async def test_parts_survive_a_restart_between_them(harness: Harness) -> None:
    parts = split_as_telegram(COMMENTS)
    await harness.start_order(ALICE, CUSTOM_COMMENTS)
    await harness.say(ALICE, LINK)
    await harness.say(ALICE, parts[0])
    await harness.restart()

    for part in parts[1:]:
        harness.tg.send_text(ALICE, part)
    await harness.settle()

    assert "Comments (600):" in harness.last(ALICE).text
    await harness.press(ALICE, "Confirm")
    (order,) = harness.sim.orders.values()
    assert len(order.fields["comments"].split("\n")) == 600


async def test_a_bad_part_is_refused_alone_and_back_drops_the_parts(harness: Harness) -> None:
    parts = split_as_telegram(COMMENTS[:300])
    await harness.start_order(ALICE, CUSTOM_COMMENTS)
    await harness.say(ALICE, LINK)
    await harness.say(ALICE, parts[0])

    refused = await harness.say(ALICE, "fine\n" + "y" * 501)
    assert refused.text.startswith("❗ Line 2: A line is too long: at most 500 characters.")
    assert refused.text.endswith(f"Comments: 102 received so far. {SEND_THE_REST}")

    again = await harness.press(ALICE, "⬅️ Back")  # the parts go, the question stays
    assert again.text.endswith("Send the comments, one per line (10 to 1,500 lines).")
    confirmation = await harness.say(ALICE, "\n".join(COMMENTS[:12]))
    assert "Comments (12):" in confirmation.text


async def test_a_part_beyond_the_maximum_is_refused_and_the_parts_before_kept(
    harness: Harness,
) -> None:
    parts = split_as_telegram(COMMENTS)  # 600 comments, 102 + 99 × 5 + 3
    await harness.start_order(ALICE, COMMENT_REPLIES)
    await harness.say(ALICE, LINK)
    await harness.say(ALICE, "author")
    for part in parts[:5]:
        await harness.say(ALICE, part)

    over = await harness.say(ALICE, parts[5])
    assert over.text.startswith("❗ Send from 5 to 500 lines, one item per line (you sent 597).")
    assert over.text.endswith(f"Comments: 498 received so far. {SEND_THE_REST}")
    confirmation = await harness.say(ALICE, "\n".join(COMMENTS[-2:]))
    assert "Comments (500):" in confirmation.text
    assert harness.sim.request_count("add") == 0
