"""Alembic at start: fresh databases, databases from before Alembic, newer ones, and two
processes starting at once."""

import asyncio
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from cryptography.fernet import Fernet

from bot.storage import (
    Database,
    FailureKind,
    KeyRepository,
    OrderRepository,
    Placement,
    RefillRepository,
    SchemaTooNewError,
    SecretBox,
    UserRepository,
    migrate_database,
)
from bot.storage.fsm import DatabaseStorage
from tests.intents import write_intent
from tests.storage.sql import rows, run

HEAD = "0008"
LEGACY_SCHEMA = Path(__file__).parent / "fixtures" / "schema_v2.sql"
TABLES = {
    *("users", "panel_keys", "orders", "refills", "fsm", "leases", "alembic_version"),
    *("wallets", "ledger_entries", "shop_sales", "shop_overrides", "topups"),
    *("broadcasts", "broadcast_recipients", "console_people", "console_settings"),
}


async def _tables(db: Database) -> set[str]:
    if db.dialect.postgres:
        found = await rows(
            db, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    else:
        found = await rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in found} - {"sqlite_sequence"}


async def test_empty_database_gets_the_newest_schema(database_url: str) -> None:
    async with await Database.open(database_url) as db:
        assert await _tables(db) == TABLES
        assert await rows(db, "SELECT version_num FROM alembic_version") == [(HEAD,)]


async def test_reopening_and_migrating_again_change_nothing(database_url: str) -> None:
    async with await Database.open(database_url) as db:
        await run(db, "INSERT INTO fsm (key, state) VALUES ('k', 's')")
    assert await migrate_database(database_url) == HEAD
    async with await Database.open(database_url) as db:
        assert await rows(db, "SELECT key, state FROM fsm") == [("k", "s")]


@pytest.mark.timeout(180)  # three interpreters importing SQLAlchemy on a loaded machine
async def test_two_processes_starting_at_once_both_succeed(database_url: str) -> None:
    # Real processes, so only the database's own lock keeps the migrations apart.
    script = (
        "import asyncio, sys; from bot.storage import migrate_database; "
        "print(asyncio.run(migrate_database(sys.argv[1])))"
    )

    async def start() -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, database_url, stdout=subprocess.PIPE
        )
        out, _ = await process.communicate()
        assert process.returncode == 0
        return out.decode().strip()

    assert await asyncio.gather(start(), start(), start()) == [HEAD, HEAD, HEAD]
    async with await Database.open(database_url) as db:
        assert await _tables(db) == TABLES


async def test_a_newer_revision_is_refused(database_url: str) -> None:
    async with await Database.open(database_url) as db:
        await run(db, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaTooNewError, match="9999"):
        await Database.open(database_url)
    with pytest.raises(SchemaTooNewError):
        await migrate_database(database_url)


# --- a SQLite file made before Alembic ---------------------------------------------------------


def _legacy_file(path: Path, ciphertext: bytes, *, version: int = 2) -> None:
    """A database exactly as the bot made it with PRAGMA user_version 2, with a row in every
    table (made with the sqlite3 module, as the old bot's aiosqlite did)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(LEGACY_SCHEMA.read_text())
        conn.executescript(
            "INSERT INTO users VALUES (101, 'ru', 0, 1.5, 2.5);"
            "INSERT INTO users VALUES (102, NULL, 1, 3.0, 4.0);"
            "INSERT INTO orders (id, intent_token, owner_id, account, panel_order_id, service_id, "
            "service_name, service_type, rate, link, quantity, extra_json, price, currency, "
            "placement, failure, status, remains, start_count, charge, notified_status, "
            "refillable, cancelable, next_poll_at, poll_interval, final, created_at, updated_at, "
            "failure_kind) VALUES "
            "(7, 'tok-7', 101, 'shared', 555, 12, 'Likes 🚀', 'Default', '0.90', 'https://x/p', "
            "1000, '{\"runs\": 2}', '0.90', 'EUR', 'placed', NULL, 'In progress', 10, 5, "
            "'0.45', 'Pending', 1, 0, 600.0, 60.0, 0, 100.0, 200.0, NULL),"
            "(8, 'tok-8', 102, 'key:abc', NULL, 13, 'Views', 'Default', '0.10', NULL, NULL, '{}', "
            "NULL, NULL, 'failed', 'Not enough funds', NULL, NULL, NULL, NULL, NULL, 0, 1, NULL, "
            "NULL, 1, 110.0, 120.0, 'rejected'),"
            "(9, 'tok-9', 101, 'shared', NULL, 12, 'Likes', 'Default', '0.90', 'https://x/q', 50, "
            "'{}', '0.045', 'USD', 'unknown', 'timed out', NULL, NULL, NULL, NULL, NULL, 1, 0, "
            "NULL, NULL, 0, 130.0, 140.0, NULL);"
            "INSERT INTO refills VALUES (3, 7, 9001, 101, 'shared', 'Pending', NULL, 0, 700.0, "
            "60.0, 300.0, 310.0);"
            "INSERT INTO fsm VALUES ('[1,101,101,null,null,\"default\"]', 'Wizard:link', "
            "'{\"service\":12}');"
        )
        conn.execute("INSERT INTO panel_keys VALUES (101, ?, 'fingerprint01', 5.0)", (ciphertext,))
        conn.execute(f"PRAGMA user_version = {version:d}")


async def test_a_database_from_before_alembic_is_upgraded_with_every_row_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "bot.sqlite3"
    box = SecretBox(Fernet.generate_key())
    _legacy_file(path, box.encrypt("panel-key-of-101"))

    async with await Database.open(path) as db:
        assert await _tables(db) == TABLES
        assert await rows(db, "SELECT version_num FROM alembic_version") == [(HEAD,)]
        # An older bot now refuses the file as too new instead of misreading it.
        assert await rows(db, "PRAGMA user_version") == [(3,)]

        users = UserRepository(db)
        first, second = await users.get(101), await users.get(102)
        assert first is not None and second is not None
        assert (first.language, first.blocked, first.created_at, first.updated_at) == (
            "ru",
            False,
            1.5,
            2.5,
        )
        assert (second.language, second.blocked) == (None, True)
        assert await KeyRepository(db, box).all_keys() == {101: "panel-key-of-101"}

        orders = OrderRepository(db)
        placed, failed, unknown = [await orders.get(i) for i in (7, 8, 9)]
        assert placed is not None and failed is not None and unknown is not None
        assert placed.placement is Placement.PLACED and placed.panel_order_id == 555
        assert (placed.service_name, placed.rate, placed.price, placed.currency) == (
            "Likes 🚀",
            Decimal("0.90"),
            Decimal("0.90"),
            "EUR",
        )
        assert placed.extra == {"runs": 2}
        assert (placed.status, placed.remains, placed.start_count, placed.charge) == (
            "In progress",
            10,
            5,
            Decimal("0.45"),
        )
        assert (placed.notified_status, placed.refillable, placed.cancelable) == (
            "Pending",
            True,
            False,
        )
        assert (placed.next_poll_at, placed.poll_interval, placed.final) == (600.0, 60.0, False)
        assert (placed.created_at, placed.updated_at) == (100.0, 200.0)
        assert failed.failure_kind is FailureKind.REJECTED and failed.final
        assert failed.failure == "Not enough funds" and failed.price is None
        # Nobody knows whether these were told: they are told (again) rather than never.
        assert await orders.list_unknown_untold() == [unknown]
        assert (unknown.owner_told_at, unknown.admins_told_at) == (None, None)

        (refill,) = await RefillRepository(db).list_for_order(7)
        assert (refill.id, refill.panel_refill_id, refill.status, refill.next_poll_at) == (
            3,
            9001,
            "Pending",
            700.0,
        )
        fsm = await rows(db, "SELECT key, state, data FROM fsm")
        assert fsm == [('[1,101,101,null,null,"default"]', "Wizard:link", '{"service":12}')]

        # New rows continue the old ids: an id is never reused.
        new = await write_intent(orders, "tok-10", owner_id=101)
        assert new.id == 10
        # The dialog in progress carries on where it was.
        dialog = StorageKey(bot_id=1, chat_id=101, user_id=101)
        assert await DatabaseStorage(db).get_state(dialog) == "Wizard:link"
        assert await DatabaseStorage(db).get_data(dialog) == {"service": 12}


async def test_a_version_1_database_is_brought_to_version_2_first(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    v1_only = LEGACY_SCHEMA.read_text().split("ALTER TABLE orders")[0]
    with sqlite3.connect(path) as conn:
        conn.executescript(v1_only)
        conn.execute(
            "INSERT INTO orders (intent_token, owner_id, account, service_id, service_name, "
            "service_type, rate, placement, failure, refillable, cancelable, final, "
            "created_at, updated_at) VALUES ('t', 1, 'shared', 5, 'Likes', 'Default', '0.9', "
            "'failed', 'Not enough funds', 0, 0, 1, 1.0, 1.0)"
        )
        conn.execute("PRAGMA user_version = 1")
    async with await Database.open(path) as db:
        (order,) = await OrderRepository(db).list_for_owner(1, offset=0, limit=10)
        assert order.failure == "Not enough funds" and order.failure_kind is None


async def test_a_legacy_database_newer_than_the_bot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    _legacy_file(path, b"x", version=5)
    with pytest.raises(SchemaTooNewError, match="version 5"):
        await Database.open(path)
    with sqlite3.connect(path) as conn:  # untouched
        assert conn.execute("PRAGMA user_version").fetchone() == (5,)
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (3,)
