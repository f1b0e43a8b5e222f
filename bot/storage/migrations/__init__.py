"""Alembic migrations of the bot's schema, applied under a lock every process respects.

Revisions live in versions/; never edit a released one, add the next. Databases made before
Alembic (SQLite, tracked with PRAGMA user_version 1 or 2) are adopted in place: brought to
version 2 and stamped with the baseline revision, which is exactly that schema.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.errors import SchemaTooNewError
from bot.storage.migrations.baseline import SQLITE_V2
from bot.storage.session import translate

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Alembic narrates every start (plugins, dialect, each step) at INFO: one line of ours instead.
# It is imported only when migrating, after this: its import already logs.
logging.getLogger("alembic").setLevel(logging.WARNING)
log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent
BASELINE = "0001"
LEGACY_VERSION = 2  # the last PRAGMA user_version before Alembic
# Set once Alembic manages a SQLite file: a bot from before Alembic then refuses it as too new
# instead of working on a schema it does not know.
ALEMBIC_ERA = 3
# One lock per schema: tests (or several bots) in other schemas of one database do not wait.
_PG_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext(coalesce(current_schema(), '') || '.bot migrations'))"
)


async def upgrade(engine: AsyncEngine) -> str:
    """Bring the schema to the newest revision in one transaction; return that revision."""
    try:
        async with engine.connect() as conn:
            revision = await conn.run_sync(_upgrade)
            await conn.commit()
    except Exception as exc:
        raise translate(exc) from exc
    return revision


def _upgrade(conn: Connection) -> str:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    # SQLite: the begin event issues BEGIN IMMEDIATE, the file's write lock, before anything is
    # read. PostgreSQL: an advisory lock held until this transaction ends.
    conn.begin()
    sqlite = conn.dialect.name == "sqlite"
    if not sqlite:
        conn.exec_driver_sql(_PG_LOCK)
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = conn
    if sqlite:
        _adopt_legacy(conn, config)
    before = _refuse_unknown(conn, ScriptDirectory.from_config(config))
    command.upgrade(config, "head")
    if sqlite:
        conn.exec_driver_sql(f"PRAGMA user_version = {ALEMBIC_ERA:d}")
    revision = MigrationContext.configure(conn).get_current_revision()
    assert revision is not None
    if revision != before:
        log.info("database schema upgraded from revision %s to %s", before or "(empty)", revision)
    return revision


def _adopt_legacy(conn: Connection, config: Config) -> None:
    from alembic import command

    version = int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
    managed = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).first()
    if managed is not None or version == 0:
        return
    if version > LEGACY_VERSION:
        raise SchemaTooNewError(
            f"database schema version {version} is newer than this bot knows; upgrade the bot"
        )
    if version < LEGACY_VERSION:
        for statement in SQLITE_V2:
            conn.exec_driver_sql(statement)
    command.stamp(config, BASELINE)


def _refuse_unknown(conn: Connection, script: ScriptDirectory) -> str | None:
    """The database's revision, if this bot knows it; else SchemaTooNewError."""
    from alembic.runtime.migration import MigrationContext
    from alembic.util import CommandError

    heads = MigrationContext.configure(conn).get_current_heads()
    for revision in heads:
        try:
            script.get_revision(revision)
        except CommandError:  # alembic's word for an unknown revision
            raise SchemaTooNewError(
                f"database schema revision {revision} is newer than this bot knows; upgrade the bot"
            ) from None
    return heads[0] if heads else None
