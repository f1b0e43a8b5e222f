"""The database a test or a bench runs the bot on: a SQLite file, or a throwaway PostgreSQL
schema, so that several runs can share one server."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage import sqlite_url


@contextlib.asynccontextmanager
async def database(url: str | None, folder: Path) -> AsyncIterator[str]:
    """A SQLite file in `folder`, or a fresh schema (dropped after) in the PostgreSQL database
    at `url`."""
    if url is None:
        yield sqlite_url(folder / "bot.sqlite3")
        return
    schema = f"test_{secrets.token_hex(8)}"
    admin = create_async_engine(url)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            yield (
                make_url(url)
                .update_query_dict({"schema": schema})
                .render_as_string(hide_password=False)
            )
        finally:
            async with admin.begin() as conn:
                await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        await admin.dispose()
