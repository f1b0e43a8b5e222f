"""What to tell people about their orders and refills, and when: status changes not told yet.

A change is marked as told only once Telegram accepted the message (compare-and-set on the
status), so a restart neither repeats a delivered notification nor loses an undelivered one.
A send whose outcome is unknown (Telegram may have shown it) counts as told too: telling a
change twice is worse than, rarely, not at all, since the order's card shows its status anyway.

How a notification reads is the views' job (`NotificationViews`, given by the caller): this
module knows no Telegram library.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from bot.domain import Status
from bot.panel.models import canonical_status
from bot.services.delivery import OutboundQueue, Outgoing
from bot.storage import Audience
from bot.storage.ledger import Entry
from bot.storage.repositories import (
    OrderRepository,
    OrderRow,
    RefillRepository,
    RefillRow,
    UserRepository,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # sends of one change that may fail before this process stops trying it

# What a notification tells: ("order" or "refill", local id, the status told), or ("unknown",
# local id, audience) for an unknown outcome.
Key = tuple[str, int, str]


@dataclass(frozen=True, slots=True)
class Change:
    """One status change to tell its owner."""

    key: Key
    owner_id: int
    order: OrderRow  # the order, or the refill's order
    refill: RefillRow | None = None
    refund: Entry | None = None  # shop mode: what went back to the wallet with this status
    # Shop mode: the charge of an order that ended failed or partial with nothing given back
    # automatically (the panel may or may not have kept the money): its admins look at it.
    unrefunded: Entry | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to send: its text, its keyboard, and the changes it tells."""

    text: str
    reply_markup: Any
    changes: Sequence[Change]


class Refunds(Protocol):
    async def refund_of(self, order_id: int) -> Entry | None: ...

    async def charge_of(self, order_id: int) -> Entry | None: ...


class NotificationViews(Protocol):
    """How notifications read, in a person's language."""

    @property
    def default_language(self) -> str: ...

    def messages(
        self, changes: Sequence[Change], language: str
    ) -> tuple[list[Notification], list[Change]]:
        """Messages telling every change (several to a message, none dropped), and the changes
        that could not be rendered."""
        ...

    def render(self, language: str, text_fn: Callable[[], str]) -> str:
        """`text_fn()` rendered in `language`."""
        ...

    def unknown_for_admins(self, order: OrderRow, language: str) -> str:
        """For admins: an order whose placement outcome is unknown, to check and settle."""
        ...

    def unknown_for_owner(self, order: OrderRow, language: str) -> Notification:
        """For the order's owner: it may or may not have been placed; an admin will check."""
        ...

    def unrefunded_for_admins(self, order: OrderRow, charge: Entry, language: str) -> str:
        """For admins: a paid order that ended failed or partial, nothing given back."""
        ...


class SharedClaims(Protocol):
    """What is in flight to whom across instances (Redis): a change is sent by one alone."""

    async def claim(self, keys: Sequence[Key]) -> set[Key]:
        """The keys this instance may send now: none is in flight from another instance.

        A claim is kept after the send (until it expires): an instance that read the change
        as untold just before it was marked told must not send it again."""
        ...

    async def release(self, keys: Sequence[Key]) -> None:
        """Give back the claims of sends that failed: a later flush may try them again."""
        ...


class Notifier:
    def __init__(
        self,
        orders: OrderRepository,
        refills: RefillRepository,
        users: UserRepository,
        queue: OutboundQueue,
        views: NotificationViews,
        admin_ids: Iterable[int] = (),
        refunds: Refunds | None = None,
        claims: SharedClaims | None = None,
    ) -> None:
        self._admin_ids = sorted(set(admin_ids))
        self._orders = orders
        self._refills = refills
        self._users = users
        self._queue = queue
        self._views = views
        self._refunds = refunds
        self._claims = claims
        self._in_flight: set[Key] = set()  # queued, not yet sent or given up
        # Unknown outcomes being told: (order id, audience), until the message is sent.
        self._telling: set[tuple[int, Audience]] = set()
        self._failures: dict[Key, int] = {}
        # One flush at a time: two would both see a change as not yet queued.
        self._lock = asyncio.Lock()

    async def flush(self) -> int:
        """Queue a message for every status change not told yet, and tell every order of
        unknown outcome to whoever was not told yet; return how many status changes."""
        async with self._lock:
            await self._tell_unknown()
            by_owner: dict[int, list[Change]] = defaultdict(list)
            # Taken before the pending rows are read: a change sent while they are read is
            # marked told (and leaves _in_flight) after the read saw it untold, and would
            # otherwise be queued a second time.
            in_flight = frozenset(self._in_flight)
            for change in await self._claimed(await self._untold(in_flight)):
                by_owner[change.owner_id].append(change)
            queued = 0
            for owner_id, changes in by_owner.items():
                user = await self._users.get(owner_id)
                if user is not None and user.blocked:
                    # Nobody to tell; the person sees the statuses in the bot when back.
                    await self._mark_told(changes)
                    continue
                language = user.language if user and user.language else self._default_language
                messages, unrendered = self._views.messages(changes, language)
                # Counted as failed sends: tried again at later flushes, up to MAX_ATTEMPTS.
                await self._failed(unrendered)
                for message in messages:
                    told = list(message.changes)
                    self._in_flight.update(change.key for change in told)
                    await self._queue.put(
                        Outgoing(
                            chat_id=owner_id,
                            text=message.text,
                            reply_markup=message.reply_markup,
                            on_sent=partial(self._sent, told),
                            on_failed=partial(self._failed, told),
                            on_outcome_unknown=partial(self._maybe_sent, told),
                            # Like a blocked person's changes at flush: the person sees the
                            # statuses in the bot when back, rather than stale news.
                            on_unreachable=partial(self._sent, told),
                        )
                    )
                    queued += len(told)
            return queued

    async def alert_admins(self, admin_ids: Iterable[int], text_fn: Callable[[], str]) -> int:
        """Queue `text_fn()` to every admin, rendered in the admin's language; return how many."""
        return await self.tell(admin_ids, text_fn)

    async def tell(self, people: Iterable[int], text_fn: Callable[[], str]) -> int:
        """Queue `text_fn()` to each person not blocking the bot, in their language."""
        return await self._tell_each(people, lambda language: self._views.render(language, text_fn))

    async def _tell_each(self, people: Iterable[int], text_for: Callable[[str], str]) -> int:
        """Queue `text_for(language)` to each person not blocking the bot; return how many."""
        queued = 0
        for person_id in sorted(set(people)):
            user = await self._users.get(person_id)
            if user is not None and user.blocked:
                continue
            language = user.language if user and user.language else self._default_language
            await self._queue.put(Outgoing(chat_id=person_id, text=text_for(language)))
            queued += 1
        return queued

    async def _tell_unknown(self) -> None:
        """Admins and owners who were not told of an unknown outcome (a stop or a crash cut
        the telling off, or the alert was never delivered) are told now; the fact is recorded
        once Telegram took the message."""
        # Taken before the rows are read, as for status changes: a telling sent while they
        # are read is recorded (and leaves _telling) after the read saw it untold.
        telling = frozenset(self._telling)
        for order in await self._orders.list_unknown_untold():
            if order.admins_told_at is None and await self._may_tell(
                order.id, Audience.ADMINS, telling
            ):
                await self._tell_admins(order)
            if order.owner_told_at is None and await self._may_tell(
                order.id, Audience.OWNER, telling
            ):
                await self._tell_owner(order)

    async def _may_tell(
        self, local_id: int, who: Audience, telling: frozenset[tuple[int, Audience]]
    ) -> bool:
        """Not being told by this process (now or when `telling` was taken), nor by another
        instance (shared claims)."""
        if (local_id, who) in self._telling or (local_id, who) in telling:
            return False
        if self._claims is None:
            return True
        key = _unknown_key(local_id, who)
        return key in await self._claims.claim([key])

    async def _tell_admins(self, order: OrderRow) -> None:
        told = partial(self._told_unknown, order.id, Audience.ADMINS)
        reachable = []
        for admin_id in self._admin_ids:
            user = await self._users.get(admin_id)
            if user is None or not user.blocked:
                reachable.append((admin_id, user))
        if not reachable:
            await told()  # nobody to tell: the order waits in /unknown for whoever comes
            return
        self._telling.add((order.id, Audience.ADMINS))
        for admin_id, user in reachable:
            language = user.language if user and user.language else self._default_language
            text = self._views.unknown_for_admins(order, language)
            # Told once any admin has it; the others' copies are sent all the same.
            await self._queue.put(
                Outgoing(
                    chat_id=admin_id,
                    text=text,
                    on_sent=told,
                    on_outcome_unknown=told,
                    on_failed=partial(self._untold_unknown, order.id, Audience.ADMINS),
                )
            )

    async def _tell_owner(self, order: OrderRow) -> None:
        told = partial(self._told_unknown, order.id, Audience.OWNER)
        user = await self._users.get(order.owner_id)
        if user is not None and user.blocked:
            await told()  # the order's card shows it when the person comes back
            return
        self._telling.add((order.id, Audience.OWNER))
        language = user.language if user and user.language else self._default_language
        notice = self._views.unknown_for_owner(order, language)
        await self._queue.put(
            Outgoing(
                chat_id=order.owner_id,
                text=notice.text,
                reply_markup=notice.reply_markup,
                on_sent=told,
                on_outcome_unknown=told,
                on_unreachable=told,
                on_failed=partial(self._untold_unknown, order.id, Audience.OWNER),
            )
        )

    async def _told_unknown(self, local_id: int, who: Audience) -> None:
        try:
            await self._orders.mark_unknown_told(local_id, who)
        finally:
            self._telling.discard((local_id, who))

    async def _untold_unknown(self, local_id: int, who: Audience) -> None:
        # Not delivered: left untold, so the next flush (or the next start) tries again.
        self._telling.discard((local_id, who))
        if self._claims is not None:
            await self._claims.release([_unknown_key(local_id, who)])

    @property
    def _default_language(self) -> str:
        return self._views.default_language

    async def _untold(self, in_flight: frozenset[Key]) -> list[Change]:
        """Changes to tell, but those in flight now or when `in_flight` was taken."""
        changes: list[Change] = []
        for order in await self._orders.pending_notifications():
            assert order.status is not None  # pending_notifications selects statuses set
            key: Key = ("order", order.id, order.status)
            if key in in_flight or self._skipped(key):
                continue
            if _initial(order.status, order.notified_status):
                await self._orders.mark_notified(order.id, order.status)
                continue
            refund = unrefunded = None
            if self._refunds is not None and order.final:
                # Posted in the transaction that stored this status: it is there by now.
                refund = await self._refunds.refund_of(order.id)
                if refund is None and canonical_status(order.status) in _LOOK_AT_UNREFUNDED:
                    unrefunded = await self._refunds.charge_of(order.id)
            changes.append(Change(key, order.owner_id, order, refund=refund, unrefunded=unrefunded))
        for refill in await self._refills.pending_notifications():
            assert refill.status is not None
            key = ("refill", refill.id, refill.status)
            if key in in_flight or self._skipped(key):
                continue
            refill_order = await self._orders.get(refill.order_id)
            if refill_order is None or _initial(refill.status, refill.notified_status):
                await self._refills.mark_notified(refill.id, refill.status)
                continue
            changes.append(Change(key, refill.owner_id, refill_order, refill))
        return changes

    async def _claimed(self, changes: list[Change]) -> list[Change]:
        """The changes no other instance has in flight (all of them without shared claims)."""
        if self._claims is None or not changes:
            return changes
        mine = await self._claims.claim([change.key for change in changes])
        return [change for change in changes if change.key in mine]

    def _skipped(self, key: Key) -> bool:
        return key in self._in_flight or self._failures.get(key, 0) >= MAX_ATTEMPTS

    async def _mark_told(self, changes: Iterable[Change]) -> None:
        for change in changes:
            kind, local_id, status = change.key
            repository = self._orders if kind == "order" else self._refills
            # A no-op if the status moved on meanwhile: the newer one is then still to tell.
            marked = await repository.mark_notified(local_id, status)
            if marked and change.unrefunded is not None:
                # Once: only the process whose mark took the status tells the admins. A stop
                # between the mark and the queue loses the alert rather than doubling it.
                await self._tell_each(
                    self._admin_ids,
                    partial(self._views.unrefunded_for_admins, change.order, change.unrefunded),
                )

    async def _sent(self, changes: list[Change]) -> None:
        """Delivered, or dropped for an unreachable chat: either way not to be sent again."""
        try:
            await self._mark_told(changes)
        finally:
            for change in changes:
                self._in_flight.discard(change.key)
                self._failures.pop(change.key, None)

    async def _maybe_sent(self, changes: list[Change]) -> None:
        """Given up after a send that may have reached the chat: not sent again, lest the
        person get it twice."""
        for change in changes:
            log.warning(
                "notification of %s %s (%s) to %s may or may not have been shown "
                "(Telegram's answer was lost): counted as told",
                *change.key,
                change.owner_id,
            )
        await self._sent(changes)

    async def _failed(self, changes: list[Change]) -> None:
        if self._claims is not None and changes:
            await self._claims.release([change.key for change in changes])
        for change in changes:
            self._in_flight.discard(change.key)
            failures = self._failures[change.key] = self._failures.get(change.key, 0) + 1
            if failures == MAX_ATTEMPTS:
                log.error(
                    "notification of %s %s (%s) to %s failed %d times: not tried again",
                    *change.key,
                    change.owner_id,
                    failures,
                )


# Final statuses that may leave a paid order's money with nobody: the panel may have refunded
# the operator or not, and a Partial whose undelivered share cannot be worked out gets nothing
# back automatically (see bot.services.shop_pricing.refund_for).
_LOOK_AT_UNREFUNDED = frozenset({Status.FAIL, Status.ERROR, Status.PARTIAL})


def _unknown_key(local_id: int, who: Audience) -> Key:
    """An unknown outcome's telling, claimed like a status change."""
    return ("unknown", local_id, who.value)


def _initial(status: str, notified_status: str | None) -> bool:
    """The first status seen is Pending: the person knows that already from placing it."""
    return notified_status is None and canonical_status(status) is Status.PENDING
