"""Writes that come while one statement is being written go together in the next.

SQLite has one connection for writing: a crowd of callers each writing one row stood in line,
a statement and a commit each. Here each caller still waits for its own row to be committed
(or for the statement's error), only the statements are shared. Reads share statements the
same way (people's rows on PostgreSQL: bot.storage.users.PersonReads): a value asked for is
read by a statement sent after it was asked. For use on the database itself, never inside a
unit of work (its statements must not run beside the transaction's).
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
    (its callers then share the outcome). `put` hands a value over without waiting for it (a
    write behind the caller); `on_failure` then hears of each batch of those that failed."""

    def __init__(
        self,
        write: Callable[[Mapping[K, V]], Awaitable[Mapping[K, R]]],
        *,
        batch: int,
        keep: Callable[[V, V], V],
        name: str,
        on_failure: Callable[[Mapping[K, V], Exception], None] | None = None,
    ) -> None:
        self._write_batch = write
        self._batch = batch
        self._keep = keep
        self._name = name
        self._on_failure = on_failure
        # Each key's value, and the future its waiting callers share (None: nobody waits).
        self._waiting: dict[K, tuple[V, asyncio.Future[R] | None]] = {}
        self._writing: asyncio.Task[None] | None = None

    async def write(self, key: K, value: V) -> R:
        future = self._enqueue(key, value, wait=True)
        assert future is not None
        # Shielded: a caller cut off while waiting leaves the others' statement alone.
        return await asyncio.shield(future)

    def put(self, key: K, value: V) -> None:
        """`value` goes in the next statement; nobody waits for it."""
        self._enqueue(key, value, wait=False)

    def _enqueue(self, key: K, value: V, *, wait: bool) -> asyncio.Future[R] | None:
        waiting = self._waiting.get(key)
        if waiting is not None:
            value = self._keep(waiting[0], value)
        future = waiting[1] if waiting is not None else None
        if future is None and wait:
            future = asyncio.get_running_loop().create_future()
        self._waiting[key] = (value, future)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name=self._name)
        return future

    async def settled(self) -> None:
        """Every value given so far is written (or failed to be)."""
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)

    async def _write(self) -> None:
        while self._waiting:
            batch = dict(list(self._waiting.items())[: self._batch])
            for key in batch:
                del self._waiting[key]
            values = {key: value for key, (value, _) in batch.items()}
            try:
                done = await self._write_batch(values)
            except Exception as exc:  # each caller fails with it, as its own statement would
                for _, future in batch.values():
                    if future is not None and not future.done():
                        future.set_exception(exc)
                unwaited = {key: values[key] for key, (_, fut) in batch.items() if fut is None}
                if unwaited and self._on_failure is not None:
                    self._on_failure(unwaited, exc)
                continue
            for key, (_, future) in batch.items():
                if future is not None and not future.done():
                    future.set_result(done[key])
