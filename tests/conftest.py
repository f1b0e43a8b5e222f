"""Shared by every test folder: nothing here talks to a real network beyond 127.0.0.1.

Storage and end-to-end tests take `database_url`: a fresh SQLite file, and, when
TEST_DATABASE_URL names a PostgreSQL database, also a fresh schema there (dropped after), so
several people and CI can run the suite on one database at once.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.storage import (
    Database,
    KeyRepository,
    OrderRepository,
    RefillRepository,
    SecretBox,
    UserRepository,
)
from tests.databases import database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if TEST_DATABASE_URL else [])]


def pytest_configure(config: pytest.Config) -> None:
    # CI must test PostgreSQL too: without the server's URL, the run fails instead of quietly
    # testing SQLite alone.
    if os.environ.get("CI") == "true" and not TEST_DATABASE_URL:
        raise pytest.UsageError("CI=true needs TEST_DATABASE_URL (a PostgreSQL database)")


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    server = TEST_DATABASE_URL if request.param == "postgresql" else None
    async with database(server, tmp_path / "data") as url:
        yield url


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
