"""Shared by every test folder: nothing here talks to a real network beyond 127.0.0.1.

Storage and end-to-end tests take `database_url`: a fresh SQLite file, and, when
TEST_DATABASE_URL names a PostgreSQL database, also a fresh schema there (dropped after), so
several people and CI can run the suite on one database at once.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage import (
    Database,
    KeyRepository,
    OrderRepository,
    RefillRepository,
    SecretBox,
    UserRepository,
    sqlite_url,
)

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if TEST_DATABASE_URL else [])]


def pytest_configure(config: pytest.Config) -> None:
    # CI must test PostgreSQL too: without the server's URL, the run fails instead of quietly
    # testing SQLite alone.
    if os.environ.get("CI") == "true" and not TEST_DATABASE_URL:
        raise pytest.UsageError("CI=true needs TEST_DATABASE_URL (a PostgreSQL database)")


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "data" / "bot.sqlite3")
        return
    schema = f"test_{secrets.token_hex(8)}"
    admin = create_async_engine(TEST_DATABASE_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = make_url(TEST_DATABASE_URL).update_query_dict({"schema": schema})
        yield url.render_as_string(hide_password=False)
        async with admin.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        await admin.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with await Database.open(database_url) as database:
        yield database


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())


@pytest.fixture
def users(db: Database) -> UserRepository:
    return UserRepository(db)


@pytest.fixture
def keys(db: Database, box: SecretBox) -> KeyRepository:
    return KeyRepository(db, box)


@pytest.fixture
def orders(db: Database) -> OrderRepository:
    return OrderRepository(db)


@pytest.fixture
def refills(db: Database) -> RefillRepository:
    return RefillRepository(db)
