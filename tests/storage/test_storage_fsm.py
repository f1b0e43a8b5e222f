import asyncio

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from bot.storage import Database, StorageError
from bot.storage.fsm import DatabaseStorage, KeyIsolation, set_dialog
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


async def test_a_remembered_state_never_outlives_a_clear(database_url: str) -> None:
    async with await Database.open(database_url) as db:
        storage = DatabaseStorage(db)
        await storage.set_state(KEY, Form.link)
        await storage.update_data(KEY, {"link": "https://x"})
        assert await storage.get_state(KEY) == "Form:link"  # now remembered
        await storage.set_state(KEY, None)
        await storage.set_data(KEY, {})
        assert await storage.get_state(KEY) is None
        assert await storage.get_data(KEY) == {}
    async with await Database.open(database_url) as db:
        storage = DatabaseStorage(db)
        assert await storage.get_state(KEY) is None
        assert await storage.get_data(KEY) == {}
        assert await rows(db, "SELECT * FROM fsm") == []


async def test_what_is_remembered_is_what_was_committed(db: Database) -> None:
    storage = DatabaseStorage(db)
    await storage.set_state(KEY, Form.link)
    await storage.set_data(KEY, {"kept": True})
    # A real failure of the database: every write of the fsm table is refused from now on.
    async with db.transaction() as tx:
        if tx.dialect.postgres:
            await tx.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'no'; END $$"
            )
            await tx.execute(
                "CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON fsm "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        else:
            for change in ("INSERT", "UPDATE"):
                await tx.execute(
                    f"CREATE TRIGGER refuse_{change} BEFORE {change} ON fsm "
                    "BEGIN SELECT RAISE(ABORT, 'no'); END"
                )
    with pytest.raises(StorageError):
        await storage.set_state(KEY, Form.quantity)
    with pytest.raises(StorageError):
        await storage.update_data(KEY, {"lost": True})
    assert await storage.get_state(KEY) == "Form:link"
    assert await storage.get_data(KEY) == {"kept": True}
    newcomer = StorageKey(bot_id=1, chat_id=77, user_id=77)
    with pytest.raises(StorageError):
        await storage.set_state(newcomer, Form.link)
    assert await storage.get_state(newcomer) is None


async def test_remembers_at_most_the_given_number_of_keys(db: Database) -> None:
    storage = DatabaseStorage(db, remembered=2)
    keys = [StorageKey(bot_id=1, chat_id=n, user_id=n) for n in range(5)]
    for n, key in enumerate(keys):
        await storage.set_state(key, f"s{n}")
    # The forgotten ones are read again from the database, unchanged.
    assert [await storage.get_state(key) for key in keys] == [f"s{n}" for n in range(5)]
    assert len(storage._known) == 2


async def test_a_write_that_changes_nothing_is_not_made(db: Database) -> None:
    storage = DatabaseStorage(db)
    await storage.set_state(KEY, Form.link)
    await storage.set_data(KEY, {"a": 1})
    # Made behind the storage's back: a write of the same values would bring the row back.
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM fsm")
    await storage.set_state(KEY, Form.link)
    await storage.update_data(KEY, {"a": 1})
    assert await rows(db, "SELECT * FROM fsm") == []


async def test_only_this_process_writes_the_table(db: Database) -> None:
    """The contract of the memory: another writer's rows go unseen once the storage has
    started (several front ends share a Redis storage instead)."""
    storage = DatabaseStorage(db)
    await storage.set_state(KEY, Form.link)
    other = StorageKey(bot_id=1, chat_id=99, user_id=99)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO fsm (key, state) VALUES (:key, 'Form:quantity')",
            {"key": '[1,99,99,null,null,"default"]'},
        )
    assert await storage.get_state(other) is None
    assert await DatabaseStorage(db).get_state(other) == "Form:quantity"  # a restart sees it


def count_writes(db: Database) -> list[str]:
    """The statements `db` writes from now on, each still written."""
    writes: list[str] = []
    write = db.write_statement

    async def counted(statement: str, params: object = None) -> object:
        writes.append(statement)
        return await write(statement, params)  # type: ignore[arg-type]

    db.write_statement = counted  # type: ignore[method-assign]
    return writes


async def test_a_new_dialog_is_one_write_and_survives_a_restart(database_url: str) -> None:
    async with await Database.open(database_url) as db:
        storage = DatabaseStorage(db)
        await storage.set_state(KEY, Form.link)
        await storage.set_data(KEY, {"old": True})
        writes = count_writes(db)
        await set_dialog(FSMContext(storage, KEY), Form.quantity, {"link": "https://x"})
        assert len(writes) == 1
        assert await storage.get_state(KEY) == "Form:quantity"
    async with await Database.open(database_url) as db:
        storage = DatabaseStorage(db)
        assert await storage.get_state(KEY) == "Form:quantity"
        assert await storage.get_data(KEY) == {"link": "https://x"}


async def test_many_peoples_changes_at_once_share_few_writes_and_survive_a_restart(
    database_url: str,
) -> None:
    people = [StorageKey(bot_id=1, chat_id=n, user_id=n) for n in range(100, 400)]
    async with await Database.open(database_url) as db:
        storage = DatabaseStorage(db)
        await storage.set_state(people[0], Form.link)  # one alone: one write, as ever
        writes = count_writes(db)
        await asyncio.gather(
            *(
                set_dialog(FSMContext(storage, key), Form.quantity, {"n": key.user_id})
                for key in people
            )
        )
        assert len(writes) <= 3  # not one each
        # Each change was committed by the time it returned.
        assert await DatabaseStorage(db).get_data(people[-1]) == {"n": people[-1].user_id}
    async with await Database.open(database_url) as db:
        storage = DatabaseStorage(db)
        for key in people:
            assert await storage.get_state(key) == "Form:quantity"
            assert await storage.get_data(key) == {"n": key.user_id}


async def test_a_new_dialog_on_another_storage_is_its_state_then_its_data() -> None:
    storage = MemoryStorage()
    await set_dialog(FSMContext(storage, KEY), Form.link, {"a": 1})
    assert await storage.get_state(KEY) == "Form:link"
    assert await storage.get_data(KEY) == {"a": 1}


async def test_one_update_at_a_time_per_person_and_a_cut_off_wait_frees_the_next() -> None:
    isolation = KeyIsolation()
    other = StorageKey(bot_id=1, chat_id=11, user_id=11)
    seen: list[str] = []
    inside, done = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with isolation.lock(KEY):
            seen.append("first")
            inside.set()
            await done.wait()

    async def then(name: str, key: StorageKey = KEY) -> None:
        async with isolation.lock(key):
            seen.append(name)

    holding = asyncio.create_task(first())
    await inside.wait()
    cut_off = asyncio.create_task(then("cut off"))
    second = asyncio.create_task(then("second"))
    await asyncio.sleep(0)  # a turn of the loop: both come to wait for the lock
    await then("someone else", other)  # another person is not held up
    cut_off.cancel()
    done.set()
    await asyncio.gather(holding, second, return_exceptions=False)
    assert cut_off.cancelled()
    assert seen == ["first", "someone else", "second"]
    await then("again")  # nothing left held
    assert seen[-1] == "again"
