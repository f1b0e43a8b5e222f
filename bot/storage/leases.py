"""Named leases: at most one holder at a time per name across every process on the database
(exactly one worker per database). A lease lapses unless renewed within its time to live."""

from __future__ import annotations

from bot.storage.session import Source


class LeaseRepository:
    def __init__(self, source: Source) -> None:
        self._src = source

    async def acquire(self, name: str, holder: str, ttl: float, now: float) -> bool:
        """Take the lease if it is free, expired or already `holder`'s (then it is extended).
        Compare-and-set in one statement: of two contenders, exactly one wins."""
        async with self._src.transaction() as tx:
            changed = await tx.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (:name, :holder, :expires) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at "
                "WHERE leases.holder = excluded.holder OR leases.expires_at <= :now",
                {"name": name, "holder": holder, "expires": now + ttl, "now": now},
            )
        return changed > 0

    async def renew(self, name: str, holder: str, ttl: float, now: float) -> bool:
        """Extend a lease `holder` still has; False if it lapsed or someone else holds it."""
        async with self._src.transaction() as tx:
            changed = await tx.execute(
                "UPDATE leases SET expires_at = :expires "
                "WHERE name = :name AND holder = :holder AND expires_at > :now",
                {"name": name, "holder": holder, "expires": now + ttl, "now": now},
            )
        return changed > 0

    async def release(self, name: str, holder: str) -> bool:
        """Give the lease up at once (a clean stop); False if `holder` did not have it."""
        async with self._src.transaction() as tx:
            changed = await tx.execute(
                "DELETE FROM leases WHERE name = :name AND holder = :holder",
                {"name": name, "holder": holder},
            )
        return changed > 0

    async def holder(self, name: str, now: float) -> str | None:
        """Who holds the lease now (None: free or expired)."""
        async with self._src.read() as tx:
            row = await tx.fetchone(
                "SELECT holder FROM leases WHERE name = :name AND expires_at > :now",
                {"name": name, "now": now},
            )
        return None if row is None else str(row[0])
