"""Writes that come while one statement is being written go together in the next.

SQLite has one connection for writing: a crowd of callers each writing one row stood in line,
a statement and a commit each. Here each caller still waits for its own row to be committed
(or for the statement's error), only the statements are shared. For use on the database
itself, never inside a unit of work (its statements must not run beside the transaction's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")


class Together(Generic[K, V, R]):
    """`write` makes one statement of up to `batch` values and answers each key's outcome;
    `keep(waiting, new)` is the value kept when a key already waits for the next statement
    (its callers then share the outcome)."""

    def __init__(
        self,
        write: Callable[[Mapping[K, V]], Awaitable[Mapping[K, R]]],
        *,
        batch: int,
        keep: Callable[[V, V], V],
        name: str,
    ) -> None:
        self._write_batch = write
        self._batch = batch
        self._keep = keep
        self._name = name
        self._waiting: dict[K, tuple[V, asyncio.Future[R]]] = {}
        self._writing: asyncio.Task[None] | None = None

    async def write(self, key: K, value: V) -> R:
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = (value, asyncio.get_running_loop().create_future())
        else:
            waiting = (self._keep(waiting[0], value), waiting[1])
        self._waiting[key] = waiting
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name=self._name)
        # Shielded: a caller cut off while waiting leaves the others' statement alone.
        return await asyncio.shield(waiting[1])

    async def settled(self) -> None:
        """Every value given so far is written (or failed to be)."""
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)

    async def _write(self) -> None:
        while self._waiting:
            batch = dict(list(self._waiting.items())[: self._batch])
            for key in batch:
                del self._waiting[key]
            try:
                done = await self._write_batch({key: value for key, (value, _) in batch.items()})
            except Exception as exc:  # each caller fails with it, as its own statement would
                for _, future in batch.values():
                    if not future.done():
                        future.set_exception(exc)
                continue
            for key, (_, future) in batch.items():
                if not future.done():
                    future.set_result(done[key])
