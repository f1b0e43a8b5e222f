"""Storage on SQLAlchemy (async): SQLite by default, PostgreSQL for scale; Alembic migrations,
repositories per aggregate, a unit of work, the FSM storage, secrets. Nothing above this package
sees a driver's exception: only those of bot.storage.errors. The aiogram FSM storage is in
bot.storage.fsm, apart: the rest of the package does not need aiogram."""

from bot.storage.db import Database, migrate_database, shown_url, sqlite_url
from bot.storage.errors import (
    DuplicatePanelOrder,
    IntegrityViolation,
    SchemaTooNewError,
    StorageError,
    StorageUnavailable,
)
from bot.storage.repositories import (
    Audience,
    FailureKind,
    KeyRepository,
    LeaseRepository,
    OrderRepository,
    OrderRow,
    Placement,
    RefillRepository,
    RefillRow,
    RefillStatusUpdate,
    StatusUpdate,
    UserRepository,
    UserRow,
)
from bot.storage.secrets import SecretBox, SecretDecryptError, load_or_create_secret_key
from bot.storage.session import Session
from bot.storage.uow import UnitOfWork

__all__ = [
    "Audience",
    "Database",
    "DuplicatePanelOrder",
    "FailureKind",
    "IntegrityViolation",
    "KeyRepository",
    "LeaseRepository",
    "OrderRepository",
    "OrderRow",
    "Placement",
    "RefillRepository",
    "RefillRow",
    "RefillStatusUpdate",
    "SchemaTooNewError",
    "SecretBox",
    "SecretDecryptError",
    "Session",
    "StatusUpdate",
    "StorageError",
    "StorageUnavailable",
    "UnitOfWork",
    "UserRepository",
    "UserRow",
    "load_or_create_secret_key",
    "migrate_database",
    "shown_url",
    "sqlite_url",
]
