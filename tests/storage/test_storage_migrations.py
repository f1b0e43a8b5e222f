from pathlib import Path

import pytest

from bot.storage import MIGRATIONS, Database, OrderRepository, SchemaTooNewError
from bot.storage.migrations import split_statements

EXTRA = """
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT 'a;b');
CREATE TRIGGER notes_touch AFTER INSERT ON notes BEGIN
    UPDATE notes SET body = body || ';' WHERE id = new.id;
END;
"""


async def _version(db: Database) -> int:
    row = await db.fetchone("PRAGMA user_version")
    assert row is not None
    return int(row[0])


async def _tables(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row["name"] for row in rows}


async def test_empty_database_gets_latest_schema(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        assert await _version(db) == len(MIGRATIONS)
        assert {"users", "panel_keys", "orders", "refills", "fsm"} <= await _tables(db)


async def test_reopening_is_a_no_op(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        await db.execute("INSERT INTO fsm (key, state) VALUES ('k', 's')")
    for _ in range(2):
        async with await Database.open(db_path) as db:
            assert await _version(db) == len(MIGRATIONS)
            assert len(await db.fetchall("SELECT * FROM fsm")) == 1


async def test_existing_database_gets_only_the_new_migration(db_path: Path) -> None:
    async with await Database.open(db_path, migrations=MIGRATIONS[:1]) as db:
        assert await _version(db) == 1
        await db.execute("INSERT INTO fsm (key, state) VALUES ('k', 's')")
        assert "notes" not in await _tables(db)
    for _ in range(2):
        async with await Database.open(db_path, migrations=(*MIGRATIONS, EXTRA)) as db:
            assert await _version(db) == len(MIGRATIONS) + 1
            assert "notes" in await _tables(db)
            assert len(await db.fetchall("SELECT * FROM fsm")) == 1
    async with await Database.open(db_path, migrations=(*MIGRATIONS, EXTRA)) as db:
        await db.execute("INSERT INTO notes (id) VALUES (1)")
        row = await db.fetchone("SELECT body FROM notes")
        assert row is not None and row[0] == "a;b;"


async def test_orders_of_version_1_read_as_refused_after_the_upgrade(db_path: Path) -> None:
    async with await Database.open(db_path, migrations=MIGRATIONS[:1]) as db:
        await db.execute(
            "INSERT INTO orders (intent_token, owner_id, account, service_id, service_name, "
            "service_type, rate, placement, failure, refillable, cancelable, final, "
            "created_at, updated_at) VALUES ('t', 1, 'shared', 5, 'Likes', 'Default', '0.9', "
            "'failed', 'Not enough funds', 0, 0, 1, 1.0, 1.0)"
        )
    async with await Database.open(db_path) as db:
        (order,) = await OrderRepository(db).list_for_owner(1, offset=0, limit=10)
        assert order.failure == "Not enough funds" and order.failure_kind is None


async def test_failing_migration_leaves_previous_version_intact(db_path: Path) -> None:
    broken = "CREATE TABLE half (id INTEGER); INSERT INTO no_such_table VALUES (1);"
    with pytest.raises(Exception, match="no_such_table"):
        await Database.open(db_path, migrations=(*MIGRATIONS, broken))
    async with await Database.open(db_path) as db:
        assert await _version(db) == len(MIGRATIONS)
        assert "half" not in await _tables(db)


async def test_newer_schema_is_refused(db_path: Path) -> None:
    async with await Database.open(db_path, migrations=(*MIGRATIONS, EXTRA)):
        pass
    with pytest.raises(SchemaTooNewError):
        await Database.open(db_path)


def test_split_statements_keeps_triggers_and_strings_whole() -> None:
    statements = split_statements(EXTRA)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


def test_split_statements_rejects_an_unfinished_statement() -> None:
    with pytest.raises(ValueError):
        split_statements("CREATE TABLE a (id INTEGER); CREATE TRIGGER t AFTER INSERT ON a BEGIN")
