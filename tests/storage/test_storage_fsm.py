import asyncio

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey

from bot.storage import Database
from bot.storage.fsm import DatabaseStorage
from tests.storage.sql import rows


class Form(StatesGroup):
    link = State()
    quantity = State()


KEY = StorageKey(bot_id=1, chat_id=10, user_id=10)


@pytest.fixture
def storage(db: Database) -> DatabaseStorage:
    return DatabaseStorage(db)


async def test_state_and_data_round_trip(storage: DatabaseStorage) -> None:
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}
    await storage.set_state(KEY, Form.link)
    assert await storage.get_state(KEY) == "Form:link"
    await storage.set_state(KEY, "custom")
    assert await storage.get_state(KEY) == "custom"
    data = {"service": 5, "name": "Лайки 👍", "items": [1, 2], "nested": {"a": None}}
    await storage.set_data(KEY, data)
    assert await storage.get_data(KEY) == data
    assert await storage.get_value(KEY, "service") == 5
    assert await storage.update_data(KEY, {"quantity": 100}) == {**data, "quantity": 100}
    assert await storage.get_data(KEY) == {**data, "quantity": 100}
    assert await storage.get_state(KEY) == "custom"


async def test_returned_data_is_a_copy(storage: DatabaseStorage) -> None:
    await storage.set_data(KEY, {"a": [1]})
    got = await storage.get_data(KEY)
    got["a"].append(2)
    assert await storage.get_data(KEY) == {"a": [1]}


@pytest.mark.parametrize(
    "other",
    [
        StorageKey(bot_id=2, chat_id=10, user_id=10),
        StorageKey(bot_id=1, chat_id=11, user_id=10),
        StorageKey(bot_id=1, chat_id=10, user_id=11),
        StorageKey(bot_id=1, chat_id=10, user_id=10, thread_id=5),
        StorageKey(bot_id=1, chat_id=10, user_id=10, business_connection_id="bc"),
        StorageKey(bot_id=1, chat_id=10, user_id=10, destiny="other"),
    ],
)
async def test_keys_differing_in_any_field_do_not_collide(
    storage: DatabaseStorage, other: StorageKey
) -> None:
    await storage.set_state(KEY, Form.link)
    await storage.set_data(KEY, {"mine": 1})
    assert await storage.get_state(other) is None
    assert await storage.get_data(other) == {}
    await storage.set_state(other, Form.quantity)
    await storage.set_data(other, {"theirs": 2})
    assert await storage.get_state(KEY) == "Form:link"
    assert await storage.get_data(KEY) == {"mine": 1}


async def test_survives_a_restart(database_url: str) -> None:
    async with await Database.open(database_url) as db:
        storage = DatabaseStorage(db)
        await storage.set_state(KEY, Form.quantity)
        await storage.set_data(KEY, {"link": "https://x"})
        await storage.close()  # must leave the database usable
        assert await storage.get_state(KEY) == "Form:quantity"
    async with await Database.open(database_url) as db:
        storage = DatabaseStorage(db)
        assert await storage.get_state(KEY) == "Form:quantity"
        assert await storage.get_data(KEY) == {"link": "https://x"}


async def test_clearing_removes_the_row(db: Database, storage: DatabaseStorage) -> None:
    await storage.set_state(KEY, Form.link)
    await storage.set_data(KEY, {"a": 1})
    await storage.set_state(KEY, None)
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {"a": 1}
    await storage.set_data(KEY, {})
    assert await storage.get_data(KEY) == {}
    assert await rows(db, "SELECT * FROM fsm") == []


@pytest.mark.parametrize(
    "data",
    [
        {"when": object()},
        {"pair": (1, 2)},
        {1: "int key"},
        {"nan": float("nan")},
    ],
)
async def test_non_json_data_is_rejected(storage: DatabaseStorage, data: dict) -> None:
    await storage.set_data(KEY, {"kept": True})
    with pytest.raises(TypeError, match="JSON"):
        await storage.set_data(KEY, data)
    with pytest.raises(TypeError, match="JSON"):
        await storage.update_data(KEY, data)
    assert await storage.get_data(KEY) == {"kept": True}


async def test_non_mapping_data_is_rejected(storage: DatabaseStorage) -> None:
    with pytest.raises(DataNotDictLikeError):
        await storage.set_data(KEY, [("a", 1)])  # type: ignore[arg-type]


async def test_concurrent_updates_do_not_lose_writes(storage: DatabaseStorage) -> None:
    await asyncio.gather(*(storage.update_data(KEY, {f"k{i}": i}) for i in range(20)))
    assert await storage.get_data(KEY) == {f"k{i}": i for i in range(20)}
