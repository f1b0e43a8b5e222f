"""Browsing the catalogue in shared-key mode: categories, paging, service cards, search."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.keyboards.callbacks import ServiceCard
from bot.sandbox.simulator import PanelSimulator, big_catalogue
from tests.bot.harness import ALICE, NO_TRACKING, SHARED_KEY, Harness, running
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def harness(tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram) -> AsyncIterator[Harness]:
    async with running(tmp_path, sim, tg, **NO_TRACKING) as started:
        yield started


def labels(message: Any) -> list[str]:
    return [button["text"] for button in message.buttons]


@pytest.fixture
async def big_sim() -> AsyncIterator[PanelSimulator]:
    simulator = PanelSimulator(services=big_catalogue(5000), keys={SHARED_KEY: Decimal(100)})
    async with simulator:
        yield simulator


async def test_categories_in_the_panels_order_with_service_counts(harness: Harness) -> None:
    counts = Counter(entry["category"] for entry in harness.sim.catalogue)
    in_panel_order = list(dict.fromkeys(entry["category"] for entry in harness.sim.catalogue))

    reply = await harness.say(ALICE, "/new")

    assert reply.text == f"Choose a category ({len(harness.sim.catalogue)} services):"
    assert labels(reply) == [f"{name} ({counts[name]})" for name in in_panel_order]


async def test_services_page_forward_and_back(harness: Harness) -> None:
    youtube = [f"#{e['service']}" for e in harness.sim.catalogue if e["category"] == "YouTube"]
    assert len(youtube) == 16  # two pages of ten

    first = await harness.say(ALICE, "/new")
    page1 = labels(await harness.press(ALICE, "YouTube (16)"))
    assert harness.last(ALICE).message_id == first.message_id  # the screen is edited in place
    assert [label.split()[0] for label in page1[:10]] == youtube[:10]
    assert page1[0] == "#21 YouTube Views [Cheap] · 1.8"
    assert page1[10:] == ["1/2", "▶️", "⬅️ Categories"]

    page2 = labels(await harness.press(ALICE, "▶️"))
    assert [label.split()[0] for label in page2[:6]] == youtube[10:]
    assert page2[6:] == ["◀️", "2/2", "⬅️ Categories"]

    assert labels(await harness.press(ALICE, "◀️")) == page1
    assert labels(await harness.press(ALICE, "1/2")) == page1  # the page counter does nothing


async def test_a_5000_service_catalogue_is_fetched_once_and_paged_from_the_cache(
    tmp_path: Path, big_sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with running(tmp_path, big_sim, tg, **NO_TRACKING) as harness:
        reply = await harness.say(ALICE, "/new")
        assert reply.text == "Choose a category (5,000 services):"
        assert labels(reply)[0] == "Category 000 (99)"
        assert labels(reply)[-2:] == ["1/6", "▶️"]
        for _ in range(3):
            reply = await harness.press(ALICE, "▶️")
        assert "4/6" in labels(reply)
        reply = await harness.press(ALICE, "◀️")
        reply = await harness.press(ALICE, "Category 020 (100)")
        assert labels(reply)[0].startswith("#2000 Service 2000")
        for _ in range(9):
            reply = await harness.press(ALICE, "▶️")
        assert "10/10" in labels(reply)
        card = await harness.press(ALICE, "#2099 ")
        assert "Service ID: 2099" in card.text
        back = await harness.press(ALICE, "⬅️ Back")
        assert "10/10" in labels(back)
        await harness.press(ALICE, "⬅️ Categories")
        await harness.say(ALICE, "/search 4321")
        await harness.say(ALICE, "/new")

        assert big_sim.request_count("services") == 1


async def test_service_card_shows_every_field(harness: Harness) -> None:
    card = await harness.open_service(ALICE, 1)
    assert card.text.splitlines() == [
        "Instagram Followers [Max 10K] ⚡",
        "Service ID: 1",
        "Category: Instagram Followers",
        "Type: Default",
        "Price per 1000: 0.9",
        "Minimum: 50 · Maximum: 10,000",
        "Refill: yes · Cancel: yes · Drip-feed: yes",
    ]

    card = await harness.open_service(ALICE, 24)  # YouTube Views [Instant]: has a description
    assert "Refill: no · Cancel: no · Drip-feed: no" in card.text
    assert card.text.endswith("Start: 0-6 hours.\nSpeed: 1000/day.")
    assert "Price per 1000: 4.5" in card.text  # 1.80 × 2.5, as the panel wrote it


async def test_a_package_card_shows_the_package_price(harness: Harness) -> None:
    card = await harness.open_service(ALICE, 4)
    assert "Price per package: 8" in card.text
    assert "per 1000" not in card.text
    assert "Minimum" not in card.text


async def test_html_in_names_is_shown_as_text(harness: Harness) -> None:
    card = await harness.open_service(ALICE, 2)
    assert card.text.startswith("Instagram Followers & Likes Combo [R30]\n")
    card = await harness.open_service(ALICE, 7)
    assert card.text.startswith("Instagram Poll Votes ✅\n")


async def test_every_callback_data_fits_64_bytes_even_with_huge_names_and_ids(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    long = "Ünïcödé 🔥 " * 40
    services = [
        {
            "service": str(9_999_999_990 + n),
            "name": f"Service {n} {long}",
            "type": kind,
            "category": f"Category {n % 12} {long}",
            "rate": "0.0000001",
            "min": "1000",
            "max": "999999999",
            "refill": True,
            "cancel": True,
            "dripfeed": True,
        }
        for n, kind in enumerate(["Web Traffic", "Subscriptions", "Mentions with Hashtags"] * 8)
    ]
    sim = PanelSimulator(services=services, keys={SHARED_KEY: Decimal(100)})
    async with sim, running(tmp_path, sim, tg, **NO_TRACKING) as harness:
        await harness.say(ALICE, "/new")
        await harness.press(ALICE, "▶️")
        await harness.press(ALICE, "Category 10 ")
        await harness.press(ALICE, "#10000000000 ")
        await harness.press(ALICE, "Order")  # Subscriptions: every button kind
        await harness.say(ALICE, "someone")
        await harness.say(ALICE, "1000")
        await harness.say(ALICE, "2000")
        await harness.press(ALICE, "Skip")
        await harness.press(ALICE, "Skip")
        reply = await harness.press(ALICE, "600")
        assert "Expiry" in reply.text
        await harness.press(ALICE, "Skip")
        await harness.say(ALICE, f"/search {long[:50]}")

        recorded = list(harness.recorded_callback_data())
        assert len(recorded) > 60
        too_long = [data for data in recorded if len(data.encode()) > 64]
        assert too_long == []


async def test_search_by_name_part_and_by_id(harness: Harness) -> None:
    reply = await harness.say(ALICE, "/search poll")
    assert reply.text == "Found 1 service for “poll”."
    assert labels(reply) == ["#7 Instagram Poll Votes ✅ · 1.2"]

    reply = await harness.say(ALICE, "/search 7")
    assert labels(reply)[0].startswith("#7 ")  # the ID first, then names containing it

    reply = await harness.say(ALICE, "/search #20")
    assert labels(reply)[0].startswith("#20 Website Traffic")

    card = await harness.press(ALICE, "#20 ")
    assert "Service ID: 20" in card.text


async def test_search_by_the_menu_button_then_a_query(harness: Harness) -> None:
    reply = await harness.say(ALICE, "🔎 Search")
    assert reply.text == "Send a part of the service's name, or its ID."
    reply = await harness.say(ALICE, "TIKTOK views")
    assert reply.text == "Found 8 services for “TIKTOK views”."
    assert all("TikTok Views" in label for label in labels(reply))


async def test_search_without_results_and_with_markup_in_the_query(harness: Harness) -> None:
    reply = await harness.say(ALICE, "/search <b>zzz</b> & co")
    assert (
        reply.text == "No service matches “<b>zzz</b> & co”. Try another word, or /new to browse."
    )
    assert reply.buttons == []


async def test_search_query_longer_than_100_characters(harness: Harness) -> None:
    query = "Instagram " + "x" * 200
    reply = await harness.say(ALICE, f"/search {query}")
    assert "No service matches" in reply.text
    assert query[:100] in reply.text
    assert query[:101] not in reply.text


async def test_search_result_card_leads_back_to_its_category(harness: Harness) -> None:
    await harness.say(ALICE, "/search TikTok Views [Premium]")
    card = await harness.press(ALICE, "TikTok Views [Premium]")
    assert "Service ID: 51" in card.text

    back = await harness.press(ALICE, "⬅️ Back")
    assert back.text.startswith("TikTok\n")
    assert "2/2" in labels(back)  # the page listing it
    assert any("TikTok Views [Premium]" in label for label in labels(back))
    categories = await harness.press(ALICE, "⬅️ Categories")
    assert categories.text.startswith("Choose a category")


async def test_back_buttons_return_to_the_page_left(harness: Harness) -> None:
    await harness.say(ALICE, "/new")
    await harness.press(ALICE, "TikTok (16)")
    await harness.press(ALICE, "▶️")
    card = await harness.press(ALICE, "TikTok Views [Premium]")
    assert "Service ID: 51" in card.text

    back = await harness.press(ALICE, "⬅️ Back")
    assert "2/2" in labels(back)
    categories = await harness.press(ALICE, "⬅️ Categories")
    assert "TikTok (16)" in labels(categories)


async def test_a_card_of_a_service_no_longer_offered(harness: Harness) -> None:
    await harness.say(ALICE, "/search 1")
    query = harness.forge_press(ALICE, ServiceCard(service=424242).pack())
    await harness.settle()
    assert harness.answer_of(query) == "This service is no longer offered."


async def test_a_command_while_asked_for_a_query_is_a_command(harness: Harness) -> None:
    await harness.say(ALICE, "🔎 Search")
    reply = await harness.say(ALICE, "/balance")
    assert reply.text == "Balance: 100 USD"
