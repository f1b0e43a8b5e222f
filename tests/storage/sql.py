"""Raw SQL for tests that look under the repositories."""

from __future__ import annotations

from typing import Any

from bot.storage import Database

Params = dict[str, Any] | None


async def rows(db: Database, statement: str, params: Params = None) -> list[tuple[Any, ...]]:
    async with db.read() as tx:
        return [tuple(row) for row in await tx.fetchall(statement, params)]


async def run(db: Database, statement: str, params: Params = None) -> int:
    async with db.transaction() as tx:
        return await tx.execute(statement, params)
