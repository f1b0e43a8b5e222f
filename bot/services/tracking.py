"""Tracking placed orders and refills: batched status polls, each item on its own backoff.

Every due item is asked in `orders=`/`refills=` batches of 100 per panel account, and its next
poll is set from the answer: soon after a change, later and later while nothing changes.
Failures of a whole account (outage, refused key) postpone that account's items only, and an
item whose answer cannot be stored is skipped (logged, asked again later), not the cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Generic, NamedTuple, Protocol, TypeVar

from bot.panel.client import BATCH_SIZE
from bot.panel.errors import InvalidKey, PanelRejected, PanelUnavailable
from bot.panel.models import (
    ItemError,
    OrderStatus,
    is_final_order_status,
    is_final_refill_status,
    status_to_store,
)
from bot.services.accounts import Account, AccountResolver
from bot.storage.repositories import (
    DueOrder,
    OrderRepository,
    RefillRepository,
    RefillStatusUpdate,
    StatusUpdate,
)

log = logging.getLogger(__name__)

# Answers with news stored in one transaction: ten requests' worth.
_STORE_AT_ONCE = 10 * BATCH_SIZE

A = TypeVar("A")  # the panel's answer for one item
U = TypeVar("U", StatusUpdate, RefillStatusUpdate)  # a status update to store


@dataclass
class CycleReport:
    """What one pass over the due orders and refills did."""

    requests: int = 0  # panel requests sent (the client's own retries not counted)
    # Items the panel was asked about and answered for, by kind ("order", "refill").
    polled: Counter[str] = field(default_factory=Counter)
    changed: int = 0  # orders and refills whose status changed
    errors: int = 0  # failed requests, plus items answered with an error or left out

    @property
    def orders_polled(self) -> int:
        return self.polled["order"]

    @property
    def refills_polled(self) -> int:
        return self.polled["refill"]


class _Tracked(Protocol):
    """What the tracker reads of any item it polls."""

    @property
    def id(self) -> int: ...
    @property
    def account(self) -> str: ...
    @property
    def panel_id(self) -> int: ...
    @property
    def status(self) -> str | None: ...
    @property
    def interval(self) -> float | None: ...
    @property
    def next_poll_at(self) -> float: ...


class _Refill(NamedTuple):
    """A refill due for a poll (see RefillRepository.due_for_tracking)."""

    id: int
    account: str
    panel_id: int
    status: str | None
    interval: float | None
    next_poll_at: float


T = TypeVar("T", bound=_Tracked)  # an item tracked: an order or a refill


@dataclass(frozen=True)
class _Kind(Generic[T, A, U]):
    """How to track one kind of item: what to ask the panel and where the answers go."""

    name: str  # "order" or "refill", for the report and the logs
    action: str
    # The items due by a time (at most `limit` of them), the soonest first.
    due: Callable[[float, int | None], Awaitable[list[T]]]
    ask: Callable[[Account, list[int]], Awaitable[dict[int, A | ItemError]]]
    answer: type  # the type of a readable answer (the others are ItemError or missing)
    status: Callable[[A], str | None]
    final: Callable[[str | None], bool]
    news: Callable[[T, A], bool]  # something besides the status changed
    update: Callable[[T, A, str | None, bool, float | None, float | None], U]
    apply: Callable[[list[U], float], Awaitable[list[int]]]
    reschedule: Callable[[Sequence[int], float, float], Awaitable[None]]


@dataclass
class _Outage:
    started: float
    failures: int
    retry_at: float


class OrderTracker:
    def __init__(
        self,
        orders: OrderRepository,
        refills: RefillRepository,
        accounts: AccountResolver,
        *,
        base_interval: float,
        max_interval: float,
        clock: Callable[[], float] = time.time,
        on_changes: Callable[[], Awaitable[None]] | None = None,
        growth: float = 2.0,
        concurrency: int = 4,
        early: float = 1.0,
    ) -> None:
        """`on_changes` is awaited after every cycle (the notifier's flush); `concurrency` is
        how many accounts are polled at once (one account's batches always go one by one).

        A request that has room takes items due soon as well: the soonest of those due within
        `early` times their own interval (see `_soon`; at 1, the default, any open item)."""
        if not 0 < base_interval <= max_interval or growth < 1 or concurrency < 1:
            raise ValueError(
                "need 0 < base_interval <= max_interval, growth >= 1, concurrency >= 1"
            )
        if not 0 <= early <= 1:
            raise ValueError("need 0 <= early <= 1")
        self._orders = orders
        self._refills = refills
        self._accounts = accounts
        self._base = base_interval
        self._max = max_interval
        self._clock = clock
        self._on_changes = on_changes
        self._growth = growth
        self._concurrency = concurrency
        self._early = early
        self._outages: dict[str, _Outage] = {}
        # Conditions already logged, so that each is reported once and not every cycle.
        self._refused_keys: set[str] = set()
        self._missing_keys: set[str] = set()
        self._refused_batches: set[str] = set()
        self._item_errors = _LoggedOnce()
        self._unstorable = _LoggedOnce()
        self._kinds: tuple[
            _Kind[DueOrder, OrderStatus, StatusUpdate], _Kind[_Refill, str, RefillStatusUpdate]
        ] = (
            _Kind(
                name="order",
                action="status",
                due=orders.due_for_polling,
                ask=lambda account, ids: account.panel.statuses(ids),
                answer=OrderStatus,
                status=lambda answer: answer.status,
                final=_is_final_order_status,
                news=_order_news,
                update=_order_update,
                # Open only: an order ended meanwhile (a cancel, a refresh) stays ended.
                apply=lambda updates, now: orders.apply_statuses(updates, now=now, open_only=True),
                reschedule=orders.reschedule,
            ),
            _Kind(
                name="refill",
                action="refill_status",
                due=self._due_refills,
                ask=lambda account, ids: account.panel.refill_statuses(ids),
                answer=str,
                status=lambda answer: answer,
                final=_is_final_refill_status,
                news=lambda refill, answer: False,  # a refill has nothing but its status
                update=_refill_update,
                apply=lambda updates, now: refills.apply_statuses(updates, now=now, open_only=True),
                reschedule=refills.reschedule,
            ),
        )
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def _due_refills(self, until: float, limit: int | None) -> list[_Refill]:
        rows = await self._refills.due_for_tracking(until, limit)
        # next_poll_at is never None here: due_for_tracking selects by it.
        return [
            _Refill(r.id, r.account, r.panel_refill_id, r.status, r.poll_interval, r.next_poll_at)
            for r in rows
            if r.next_poll_at is not None
        ]

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Run the tracking loop in a background task (no-op if it runs already)."""
        if self._task is not None and not self._task.done():
            return
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.run(self._stop), name="order-tracker")

    async def stop(self) -> None:
        """End the loop; a cycle in progress is abandoned (its unanswered items stay due)."""
        task, self._task = self._task, None
        if task is None:
            return
        assert self._stop is not None
        self._stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def run(self, stop: asyncio.Event) -> None:
        """Cycle until `stop` is set, sleeping until the next item is due (at most
        `base_interval`, so orders placed meanwhile are picked up in time)."""
        while not stop.is_set():
            try:
                await self.run_cycle()
                delay = await self._time_to_next_poll()
            except Exception:
                log.exception("tracking cycle failed; trying again in %s s", self._base)
                delay = self._base
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stop.wait()

    async def _time_to_next_poll(self) -> float:
        now = self._clock()
        horizon = now + self._base
        soonest = [horizon]
        for rows in (
            await self._orders.due_for_tracking(horizon, limit=1),
            await self._refills.due_for_tracking(horizon, limit=1),
        ):
            soonest += [row.next_poll_at for row in rows if row.next_poll_at is not None]
        return max(0.0, min(soonest) - now)

    # --- one cycle -----------------------------------------------------------------------

    async def run_cycle(self) -> CycleReport:
        """One pass: every due order, then every due refill; then `on_changes`, even when the
        pass failed: what it (or anything before it) stored is still to be told."""
        report = CycleReport()
        try:
            now = self._clock()
            accounts: dict[str, Account] | None = None
            for kind in self._kinds:
                due = await kind.due(now, None)
                if due:
                    if accounts is None:
                        accounts = await self._accounts.by_label()
                    await self._per_account(kind, accounts, due, now, report)
        finally:
            if self._on_changes is not None:
                try:
                    await self._on_changes()
                except Exception:
                    log.exception("on_changes callback failed")
        return report

    async def _per_account(
        self,
        kind: _Kind[T, A, U],
        accounts: dict[str, Account],
        due: list[T],
        now: float,
        report: CycleReport,
    ) -> None:
        groups: dict[str, list[T]] = defaultdict(list)
        for item in due:
            groups[item.account].append(item)
        soon = await self._soon(kind, groups, now)
        labels = deque(groups)

        async def worker() -> None:
            while labels:
                label = labels.popleft()
                batch = groups[label] + soon.get(label, [])
                await self._poll(kind, label, accounts.get(label), batch, now, report)

        async with asyncio.TaskGroup() as tasks:
            for _ in range(min(self._concurrency, len(labels))):
                tasks.create_task(worker())

    async def _soon(
        self, kind: _Kind[T, A, U], due: dict[str, list[T]], now: float
    ) -> dict[str, list[T]]:
        """Items not due yet that fill the room each account's last request leaves: the
        soonest of those due within `early` times their own interval. Asking such an item a
        little early spares it a request of its own later; its next poll then counts from now,
        so no item is ever asked later than its schedule says.

        Only the first few due by the longest such horizon are read (enough to fill every
        account's room), not every item due in the next half hour."""
        rooms = {label: -len(items) % BATCH_SIZE for label, items in due.items()}
        wanted = sum(rooms.values())
        if not wanted or not self._early:
            return {}
        ahead = await kind.due(
            now + self._early * self._max, sum(map(len, due.values())) + BATCH_SIZE * len(due)
        )
        soon: dict[str, list[T]] = defaultdict(list)
        for item in ahead:
            room = rooms.get(item.account, 0)
            if (
                room
                and item.next_poll_at > now
                and item.next_poll_at - now <= self._early * (item.interval or self._base)
            ):
                soon[item.account].append(item)
                rooms[item.account] = room - 1
        return soon

    async def _poll(
        self,
        kind: _Kind[T, A, U],
        label: str,
        account: Account | None,
        items: list[T],
        now: float,
        report: CycleReport,
    ) -> None:
        """Ask one account about its items, 100 a request, one request at a time. Items
        without news are rescheduled together at the end, counted from `now` (the cycle's
        start, so never later than their schedule). Answers with news are stored a thousand
        at a time (ten requests), and what is left when the account's turn ends: a
        transaction a request was most of the database's work. An answer not yet stored when
        the process dies is only asked again (its order is still due)."""
        if account is None:
            self._note_missing_key(label, len(items))
            await self._postpone(kind, items, self._clock() + self._max, self._max)
            return
        self._missing_keys.discard(label)
        unchanged: list[T] = []
        news: list[U] = []
        for start in range(0, len(items), BATCH_SIZE):
            retry_at = self._postponed_until(label)
            if retry_at is not None:  # the account failed in this cycle's order pass
                await self._postpone(kind, items[start:], retry_at)
                break
            batch = items[start : start + BATCH_SIZE]
            report.requests += 1
            try:
                answers = await kind.ask(account, [item.panel_id for item in batch])
            except InvalidKey:
                report.errors += 1
                self._note_refused_key(label)
                await self._postpone(kind, items[start:], self._clock() + self._max, self._max)
                break
            except PanelRejected as exc:
                report.errors += 1
                self._note_refused_batch(label, kind.action, exc.message)
                unchanged += batch
                continue
            except PanelUnavailable as exc:
                report.errors += 1
                retry_at = self._note_outage(label, exc.reason)
                await self._postpone(kind, items[start:], retry_at)
                break
            self._note_answer(label)
            unchanged += self._sort_answers(kind, batch, answers, news, report)
            if len(news) >= _STORE_AT_ONCE:
                unchanged += await self._store(kind, items, news, report)
                news = []
        unchanged += await self._store(kind, items, news, report)
        await self._reschedule_unchanged(kind, unchanged, now)

    async def _reschedule_unchanged(
        self, kind: _Kind[T, A, U], items: Sequence[T], now: float
    ) -> None:
        """Items without news: asked again after their grown interval."""
        # By their current interval first: a handful of them, each grown once, not per item.
        by_interval: dict[float | None, list[int]] = defaultdict(list)
        for item in items:
            by_interval[item.interval].append(item.id)
        groups: dict[float, list[int]] = defaultdict(list)
        for current, ids in by_interval.items():
            groups[self._next_interval(current, changed=False)] += ids
        for interval, ids in groups.items():
            await kind.reschedule(ids, now + interval, interval)

    async def _postpone(
        self, kind: _Kind[T, A, U], items: Sequence[T], until: float, interval: float | None = None
    ) -> None:
        """Items not asked: due again at `until`, with `interval` or else their own."""
        groups: dict[float, list[int]] = defaultdict(list)
        for item in items:
            groups[interval or item.interval or self._base].append(item.id)
        for new_interval, ids in groups.items():
            await kind.reschedule(ids, until, new_interval)

    # --- answers -------------------------------------------------------------------------

    def _sort_answers(
        self,
        kind: _Kind[T, A, U],
        batch: list[T],
        answers: dict[int, A | ItemError],
        updates: list[U],
        report: CycleReport,
    ) -> list[T]:
        """Add to `updates` what the panel changed; return the items without news."""
        now = self._clock()
        unchanged: list[T] = []
        failed: list[tuple[int, int, ItemError | None]] = []
        # Looked up once, not once per item of the batch.
        readable, status_of, is_final, has_news = kind.answer, kind.status, kind.final, kind.news
        for item in batch:
            answer = answers.get(item.panel_id)
            if not isinstance(answer, readable):
                failed.append((item.id, item.panel_id, answer))
                unchanged.append(item)
                continue
            status = status_of(answer)
            if status != item.status:
                status = status_to_store(item.status, status)
            changed = status != item.status
            final = is_final(status)
            if not changed and not final and not has_news(item, answer):
                unchanged.append(item)
                continue
            interval = self._next_interval(item.interval, changed=changed)
            updates.append(
                kind.update(
                    item,
                    answer,
                    status,
                    final,
                    None if final else now + interval,
                    None if final else interval,
                )
            )
        report.polled[kind.name] += len(batch) - len(failed)
        self._note_item_errors(kind.name, [item.id for item in batch], failed, report)
        return unchanged

    async def _store(
        self, kind: _Kind[T, A, U], items: list[T], updates: list[U], report: CycleReport
    ) -> list[T]:
        """Store `updates` (answers about some of `items`); return the items whose update the
        database refused: they move to their next poll as if unchanged."""
        # Only what the panel changed is written; the rest just moves to its next poll.
        now = self._clock()
        refused = await self._apply(kind.name, lambda some: kind.apply(some, now), updates, report)
        return [item for item in items if item.id in refused] if refused else []

    async def _apply(
        self,
        kind: str,
        apply: Callable[[list[U]], Awaitable[list[int]]],
        updates: list[U],
        report: CycleReport,
    ) -> set[int]:
        """Store `updates` in one transaction; should that fail, one by one, so that an answer
        the database refuses (a value it cannot hold) holds up its own item only. Return the
        ids not stored: they keep their old state and are asked again after their interval."""
        if not updates:
            return set()
        refused: list[tuple[U, Exception]] = []
        try:
            report.changed += len(await apply(updates))
        except Exception as error:  # the transaction was rolled back: nothing of it stored
            if len(updates) == 1:
                refused.append((updates[0], error))
            else:
                for update in updates:
                    try:
                        report.changed += len(await apply([update]))
                    except Exception as item_error:
                        refused.append((update, item_error))
        self._note_unstorable(kind, updates, refused, report)
        return {_update_id(update) for update, _ in refused}

    def _note_unstorable(
        self,
        kind: str,
        updates: list[U],
        refused: list[tuple[U, Exception]],
        report: CycleReport,
    ) -> None:
        """Count updates that could not be stored; log each item the first time only (with
        the first traceback), so that a database outage does not log a hundred of them."""
        report.errors += len(refused)
        first = self._unstorable.first_time(
            kind, map(_update_id, updates), {_update_id(update) for update, _ in refused}
        )
        new = [(u, e) for u, e in refused if _update_id(u) in first]
        if not new:
            return
        # Panel data and database errors only: the account's key is in neither.
        sample = "; ".join(
            f"{kind} {_update_id(update)} (status {update.status!r}): {type(error).__name__}"
            for update, error in new[:3]
        )
        log.error(
            "%d %ss whose new status cannot be stored, still tracked: %s",
            len(new),
            kind,
            sample,
            exc_info=new[0][1],
        )

    # --- schedule and account state ------------------------------------------------------

    def _next_interval(self, current: float | None, *, changed: bool) -> float:
        if changed or current is None:
            return self._base
        return min(max(current, self._base) * self._growth, self._max)

    def _postponed_until(self, label: str) -> float | None:
        outage = self._outages.get(label)
        if outage is None or outage.retry_at <= self._clock():
            return None
        return outage.retry_at

    def _note_outage(self, label: str, reason: str) -> float:
        """Record a failed request; return when to try this account again."""
        now = self._clock()
        outage = self._outages.get(label)
        if outage is None:
            outage = self._outages[label] = _Outage(started=now, failures=0, retry_at=now)
            log.warning(
                "panel unavailable for account %s (%s): tracking paused, retrying with backoff",
                label,
                reason,
            )
        outage.failures += 1
        delay = min(self._base * self._growth ** (outage.failures - 1), self._max)
        # Jitter, so that many accounts (or bots) do not all come back in the same second.
        outage.retry_at = now + delay * random.uniform(1.0, 1.25)
        return outage.retry_at

    def _note_answer(self, label: str) -> None:
        outage = self._outages.pop(label, None)
        if outage is not None:
            log.info(
                "panel answers again for account %s after %.0f s (%d failed requests)",
                label,
                self._clock() - outage.started,
                outage.failures,
            )
        if label in self._refused_keys:
            self._refused_keys.discard(label)
            log.info("the panel accepts the key of account %s again", label)
        self._refused_batches.discard(label)

    def _note_refused_key(self, label: str) -> None:
        if label not in self._refused_keys:
            self._refused_keys.add(label)
            log.warning(
                "the panel refuses the key of account %s: its items are asked every %s s",
                label,
                self._max,
            )

    def _note_missing_key(self, label: str, count: int) -> None:
        if label not in self._missing_keys:
            self._missing_keys.add(label)
            log.warning(
                "account %s has no key any more: its %d due items are asked every %s s",
                label,
                count,
                self._max,
            )

    def _note_refused_batch(self, label: str, action: str, message: str) -> None:
        if label not in self._refused_batches:
            self._refused_batches.add(label)
            log.warning("panel refused %s for account %s: %s", action, label, message)

    def _note_item_errors(
        self,
        kind: str,
        ids: list[int],
        failed: list[tuple[int, int, ItemError | None]],
        report: CycleReport,
    ) -> None:
        """Count items answered without a status; log each one the first time only."""
        report.errors += len(failed)
        first = self._item_errors.first_time(kind, ids, {local_id for local_id, _, _ in failed})
        new = [item for item in failed if item[0] in first]
        if not new:
            return
        sample = "; ".join(
            f"{kind} {local_id} (panel {panel_id}): "
            + (answer.message if answer is not None else "left out of the answer")
            for local_id, panel_id, answer in new[:3]
        )
        log.warning("%d %ss without a status, still tracked: %s", len(new), kind, sample)


class _LoggedOnce:
    """Items whose trouble was logged: each once, until it recovers and may be logged again."""

    def __init__(self) -> None:
        self._logged: set[tuple[str, int]] = set()

    def first_time(self, kind: str, asked: Iterable[int], failing: set[int]) -> set[int]:
        """Of `failing` (some of the items `asked` now), those not logged before; the
        others of `asked` are forgotten, having recovered."""
        if self._logged:
            self._logged.difference_update((kind, i) for i in asked if i not in failing)
        new = {i for i in failing if (kind, i) not in self._logged}
        self._logged.update((kind, i) for i in new)
        return new


def _update_id(update: StatusUpdate | RefillStatusUpdate) -> int:
    return update.local_id if isinstance(update, StatusUpdate) else update.refill_id


# Statuses are few and repeat: a cycle over 100,000 orders looks up the same handful.
_is_final_order_status = lru_cache(maxsize=512)(is_final_order_status)
_is_final_refill_status = lru_cache(maxsize=512)(is_final_refill_status)


def _order_news(order: DueOrder, answer: OrderStatus) -> bool:
    # An answer without a charge keeps the order's (see _order_update). Field by field, not as
    # tuples: this runs for every order asked.
    return (
        answer.remains != order.remains
        or answer.start_count != order.start_count
        or (answer.charge is not None and answer.charge != order.charge)
    )


def _order_update(
    order: DueOrder,
    answer: OrderStatus,
    status: str | None,
    final: bool,
    next_poll_at: float | None,
    interval: float | None,
) -> StatusUpdate:
    # By position, in StatusUpdate's field order: by name took twice as long, for every order
    # whose answer is stored.
    return StatusUpdate(
        order.id,
        status,
        answer.remains,
        answer.start_count,
        order.charge if answer.charge is None else answer.charge,  # none said: the one known
        answer.currency,
        final,
        next_poll_at,
        interval,
    )


def _refill_update(
    refill: _Refill,
    answer: str,
    status: str | None,
    final: bool,
    next_poll_at: float | None,
    interval: float | None,
) -> RefillStatusUpdate:
    return RefillStatusUpdate(refill.id, status, final, next_poll_at, interval)
