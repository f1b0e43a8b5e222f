"""Versioned schema migrations, tracked with `PRAGMA user_version`.

Migration N (1-based) is MIGRATIONS[N - 1]. Never edit a released migration: append a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import aiosqlite

_V1 = """
CREATE TABLE users (
    telegram_id INTEGER PRIMARY KEY,
    language TEXT,
    blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE panel_keys (
    telegram_id INTEGER PRIMARY KEY REFERENCES users (telegram_id) ON DELETE CASCADE,
    key_ciphertext BLOB NOT NULL,
    key_fingerprint TEXT NOT NULL,
    created_at REAL NOT NULL
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    intent_token TEXT NOT NULL UNIQUE,
    owner_id INTEGER NOT NULL,
    account TEXT NOT NULL,
    panel_order_id INTEGER,
    service_id INTEGER NOT NULL,
    service_name TEXT NOT NULL,
    service_type TEXT NOT NULL,
    rate TEXT NOT NULL,
    link TEXT,
    quantity INTEGER,
    extra_json TEXT NOT NULL DEFAULT '{}',
    price TEXT,
    currency TEXT,
    placement TEXT NOT NULL DEFAULT 'pending'
        CHECK (placement IN ('pending', 'placed', 'unknown', 'failed')),
    failure TEXT,
    status TEXT,
    remains INTEGER,
    start_count INTEGER,
    charge TEXT,
    notified_status TEXT,
    refillable INTEGER NOT NULL CHECK (refillable IN (0, 1)),
    cancelable INTEGER NOT NULL CHECK (cancelable IN (0, 1)),
    next_poll_at REAL,
    poll_interval REAL,
    final INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1)),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (account, panel_order_id),
    CHECK (placement != 'placed' OR panel_order_id IS NOT NULL)
);

CREATE INDEX orders_by_owner ON orders (owner_id, id DESC);
CREATE INDEX orders_tracking ON orders (placement, final, next_poll_at);
-- Partial: only orders with an unsent status change, so the notifier never scans the table.
CREATE INDEX orders_unnotified ON orders (id)
    WHERE status IS NOT NULL AND status IS NOT notified_status;

CREATE TABLE refills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    panel_refill_id INTEGER NOT NULL,
    owner_id INTEGER NOT NULL,
    account TEXT NOT NULL,
    status TEXT,
    notified_status TEXT,
    final INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1)),
    next_poll_at REAL,
    poll_interval REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (account, panel_refill_id)
);

CREATE INDEX refills_by_order ON refills (order_id);
CREATE INDEX refills_tracking ON refills (final, next_poll_at);
CREATE INDEX refills_unnotified ON refills (id)
    WHERE status IS NOT NULL AND status IS NOT notified_status;

CREATE TABLE fsm (
    key TEXT PRIMARY KEY,
    state TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
"""

# Why a failed order failed: the card tells "the panel refused" (its message in `failure`) apart
# from "the panel could not be reached" and "an admin found it was not placed". NULL (rows of
# version 1) means refused, which was the only kind then shown to people.
_V2 = """
ALTER TABLE orders ADD COLUMN failure_kind TEXT
    CHECK (failure_kind IN ('rejected', 'unreachable', 'not_placed'));
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer version of the bot."""


def split_statements(script: str) -> list[str]:
    """Split a script on the semicolons that end statements (not those in strings/triggers)."""
    statements: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip(" \n\t;"):
        raise ValueError("migration script ends with an incomplete statement")
    return [s for s in statements if s.strip(" \n\t;")]


async def _user_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def migrate(conn: aiosqlite.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Apply the migrations the database lacks, each in its own transaction; return the version.

    The version is read inside BEGIN IMMEDIATE, so two processes opening the same file at once
    cannot both apply a migration. `conn` must be in autocommit mode (isolation_level=None).
    """
    for target, script in enumerate(migrations, start=1):
        statements = split_statements(script)
        await conn.execute("BEGIN IMMEDIATE")
        try:
            if await _user_version(conn) < target:
                for statement in statements:
                    await conn.execute(statement)
                # user_version lives in the file header: it commits or rolls back with the rest.
                await conn.execute(f"PRAGMA user_version = {target:d}")
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
    version = await _user_version(conn)
    if version > len(migrations):
        raise SchemaTooNewError(
            f"database schema version {version} is newer than this bot knows "
            f"({len(migrations)}); upgrade the bot"
        )
    return version
