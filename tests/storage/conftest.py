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


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.db"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    async with await Database.open(db_path) as database:
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
