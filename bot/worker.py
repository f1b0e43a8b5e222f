"""The background work: order tracking, notifications, start-up recovery, one per database.

It runs inside the bot process by default, or alone (`python -m bot worker`). Exactly one
worker works per database: it holds a lease in the database and renews it; a second worker
waits (one log line) and takes over when the lease is released or expires because its holder
died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)

LEASE_NAME = "worker"


class LeaseStore(Protocol):
    """What the worker needs of the database's leases (bot.storage.LeaseRepository)."""

    async def acquire(self, name: str, holder: str, ttl: float, now: float) -> bool:
        """Take or extend the lease: True if `holder` holds it until `now + ttl`."""

    async def release(self, name: str, holder: str) -> bool:
        """Give the lease up, if `holder` holds it."""


class Startable(Protocol):
    def start(self) -> None: ...

    async def stop(self) -> None: ...


class Together:
    """Several background jobs started and stopped as one (tracking, broadcasts)."""

    def __init__(self, *jobs: Startable) -> None:
        self._jobs = jobs

    def start(self) -> None:
        for job in self._jobs:
            job.start()

    async def stop(self) -> None:
        for job in self._jobs:
            await job.stop()


def holder_name() -> str:
    """Who holds the lease, as an operator reading the database would want to know."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self,
        *,
        lease: LeaseStore,
        ttl: float,
        recover: Callable[[], Awaitable[None]],
        tracker: Startable,
        others: Sequence[Startable] = (),
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`others`: more background loops run while the lease is held (invoice polling)."""
        self._lease = lease
        self._ttl = ttl
        self._recover = recover
        self._loops = [tracker, *others]
        self.holder = holder or holder_name()
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._holding = asyncio.Event()
        self._stopping = asyncio.Event()

    @property
    def holding(self) -> bool:
        return self._holding.is_set()

    async def wait_holding(self) -> None:
        await self._holding.wait()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="worker")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            if not await self._wait_for_lease():
                return
            try:
                await self._work()
            finally:
                for loop in self._loops:
                    await loop.stop()
                self._holding.clear()
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._lease.release(LEASE_NAME, self.holder))

    async def _wait_for_lease(self) -> bool:
        """Hold the lease; False if stopped first. Says once that another worker holds it."""
        said = False
        while not self._stopping.is_set():
            if await self._try_acquire():
                if said:
                    log.info("worker: the other worker is gone; this one takes over")
                return True
            if not said:
                log.info("worker: another worker holds the database; waiting to take over")
                said = True
            await self._pause(self._ttl / 3)
        return False

    async def _work(self) -> None:
        self._holding.set()
        log.info("worker started")
        await self._recover()
        for loop in self._loops:
            loop.start()
        renewed_at = time.monotonic()
        while not self._stopping.is_set():
            await self._pause(self._ttl / 3)
            if self._stopping.is_set():
                return
            if await self._try_acquire():
                renewed_at = time.monotonic()
                # Again at each renewal: an intent too young to be taken for a crash's
                # leftover at start (another instance may have been waiting for the panel)
                # is recovered once it is old enough, not at the next restart.
                await self._recover_safely()
            elif time.monotonic() - renewed_at >= self._ttl * 2 / 3:
                # Another worker may take over once the lease expires: stop before it does.
                log.warning("worker: lost the lease; pausing until it can be taken again")
                return

    async def _recover_safely(self) -> None:
        try:
            await self._recover()
        except Exception:
            # The database is briefly unavailable: the next renewal tries again.
            log.exception("worker: recovery of interrupted orders failed")

    async def _try_acquire(self) -> bool:
        try:
            return await self._lease.acquire(LEASE_NAME, self.holder, self._ttl, self._clock())
        except Exception as exc:
            # The database is briefly unavailable: not holding is the safe answer.
            log.warning("worker: cannot read the lease: %s", type(exc).__name__)
            return False

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if the worker is stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
