"""Embedded SQLite storage: database, migrations, repositories, FSM storage, secrets."""

from bot.storage.db import Database, Session
from bot.storage.fsm import SQLiteStorage
from bot.storage.migrations import MIGRATIONS, SchemaTooNewError, migrate
from bot.storage.repositories import (
    FailureKind,
    KeyRepository,
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

__all__ = [
    "MIGRATIONS",
    "Database",
    "FailureKind",
    "KeyRepository",
    "OrderRepository",
    "OrderRow",
    "Placement",
    "RefillRepository",
    "RefillRow",
    "RefillStatusUpdate",
    "SQLiteStorage",
    "SchemaTooNewError",
    "SecretBox",
    "SecretDecryptError",
    "Session",
    "StatusUpdate",
    "UserRepository",
    "UserRow",
    "load_or_create_secret_key",
    "migrate",
]
