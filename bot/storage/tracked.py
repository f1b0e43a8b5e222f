"""The status path orders and refills share: store answers, reschedule, notify once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

from bot.storage.session import Params, Source

RowT = TypeVar("RowT")


def now_or(now: float | None) -> float:
    return time.time() if now is None else now


def money(value: Decimal) -> str:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"money must be a finite Decimal, got {type(value).__name__}")
    return str(value)


def money_or_none(value: Decimal | None) -> str | None:
    return None if value is None else money(value)


class TrackedRepository(Generic[RowT]):
    """A table of things polled on the panel (orders, refills): one implementation of
    storing `status` answers in batches, rescheduling and once-only notification.

    A subclass names its table, its columns (in its row type's field order), the UPDATE that
    stores one answer (named parameters, then :ts and :id), the order of an answer's values
    and which rows may take answers.
    """

    TABLE: ClassVar[str]
    COLUMNS: ClassVar[str]
    UPDATE_SET: ClassVar[str]  # "status = :status, ..." without updated_at
    # UPDATE_SET's parameters in the order of an answer's values (see _store_answers).
    ANSWER: ClassVar[tuple[str, ...]]
    UPDATABLE: ClassVar[str] = ""  # extra WHERE terms (with AND) for rows that take answers

    def __init__(self, source: Source) -> None:
        self._src = source
        d = source.dialect
        self._select = f"SELECT {self.COLUMNS} FROM {self.TABLE}"
        self._answer = (*self.ANSWER, "ts", "id")
        update_one = (
            f"UPDATE {self.TABLE} SET {self.UPDATE_SET}, updated_at = :ts "
            f"WHERE id = :id{self.UPDATABLE.format(plain='')}"
        )
        self._update_one = d.by_position(update_one, self._answer)
        # The same, for a row that is still open when it is written (see _store_answers).
        self._update_open = d.by_position(f"{update_one} AND final = 0", self._answer)
        self._status_at = self._answer.index("status")
        self._before = (
            f"SELECT id, status, final FROM {self.TABLE} WHERE {d.in_ids('id')}"
            f"{self.UPDATABLE.format(plain=d.no_index)}"
        )
        self._reschedule = (
            f"UPDATE {self.TABLE} SET next_poll_at = :next_poll_at, poll_interval = :interval "
            f"WHERE {d.in_ids('id')} AND final = 0"
        )
        self._unnotified = (
            f"{self._select} WHERE status IS NOT NULL AND status {d.distinct} notified_status "
            "ORDER BY id LIMIT :limit"
        )
        self._notified = (
            f"UPDATE {self.TABLE} SET notified_status = :status WHERE id = :id AND status = :status"
        )

    @staticmethod
    def row(values: Sequence[Any]) -> RowT:
        raise NotImplementedError

    async def _store_answers(
        self, answers: Sequence[Sequence[Any]], *, open_only: bool = False
    ) -> list[int]:
        """Store answers in one transaction; the ids whose status changed. An answer is a row
        of values in ANSWER order, then the time (updated_at) and the row's id.

        `open_only`: rows that became final since the answers were asked for are left as they
        are (the tracker's answers: a cancel or a refresh stored a newer end meanwhile, and an
        older "In progress" must not reopen a refunded order)."""
        if not answers:
            return []
        async with self._src.transaction() as tx:
            rows = await tx.fetchall(
                self._before, {"ids": tx.dialect.ids(answer[-1] for answer in answers)}
            )
            ended = {row_id for row_id, _, final in rows if final} if open_only else set()
            before = {row_id: status for row_id, status, _ in rows if row_id not in ended}
            if ended:
                answers = [answer for answer in answers if answer[-1] not in ended]
            if answers:
                # The guard holds where another process ends a row between the read and this.
                update = self._update_open if open_only else self._update_one
                await tx.executemany(update, answers)
        status_at = self._status_at
        return [
            answer[-1]
            for answer in answers
            if answer[-1] in before and before[answer[-1]] != answer[status_at]
        ]

    async def reschedule(
        self, ids: Sequence[int], next_poll_at: float, poll_interval: float
    ) -> None:
        """Set the next poll of unfinished rows whose status did not change."""
        if not ids:
            return
        async with self._src.transaction() as tx:
            await tx.execute(
                self._reschedule,
                {
                    "next_poll_at": next_poll_at,
                    "interval": poll_interval,
                    "ids": tx.dialect.ids(ids),
                },
            )

    async def pending_notifications(self, limit: int | None = None) -> list[RowT]:
        """Rows whose current status has not been sent to the owner yet."""
        async with self._src.read() as tx:
            rows = await tx.fetchall(self._unnotified, {"limit": tx.dialect.limit(limit)})
        return [self.row(r) for r in rows]

    async def mark_notified(self, row_id: int, status: str) -> bool:
        """Record that `status` was sent; a no-op if the status has moved on meanwhile."""
        async with self._src.transaction() as tx:
            return await tx.execute(self._notified, {"status": status, "id": row_id}) > 0

    async def _one(self, where: str, params: Params) -> RowT | None:
        async with self._src.read() as tx:
            row = await tx.fetchone(f"{self._select} WHERE {where}", params)
        return None if row is None else self.row(row)

    async def _many(self, where: str, params: Params) -> list[RowT]:
        async with self._src.read() as tx:
            rows = await tx.fetchall(f"{self._select} WHERE {where}", params)
        return [self.row(r) for r in rows]
