"""Placing orders exactly once, and the rules for acting on them afterwards."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from bot.domain import OrderField, Placement, Status
from bot.panel.errors import OrderOutcomeUnknown, PanelError, PanelRejected, PanelUnavailable
from bot.panel.models import (
    ItemError,
    Service,
    canonical_status,
    is_final_order_status,
    status_to_store,
)
from bot.services.accounts import Account
from bot.services.order_form import build_order, order_quantity
from bot.services.pricing import Quote
from bot.services.shop_pricing import REFUND_STATUSES, Charge
from bot.storage.errors import DuplicatePanelOrder
from bot.storage.repositories import (
    FailureKind,
    OrderRepository,
    OrderRow,
    RefillRepository,
    RefillRow,
)
from bot.storage.rows import Audience

log = logging.getLogger(__name__)

REFILL_STATUSES = frozenset({Status.COMPLETED, Status.PARTIAL})
REFILL_BLOCKS_SECONDS = 24 * 3600


class ChargedIntents(Protocol):
    async def create_charged_intent(self, charge: Charge, **fields: Any) -> OrderRow | None:
        """`create_intent(**fields)` and the wallet charged, in one transaction."""
        ...


@dataclass(frozen=True, slots=True)
class PlacementResult:
    """What became of one confirmation: the order's placement, or that it was handled before.

    A FAILED placement says why in `failure` (the panel refused it, or it never reached it).
    """

    placement: Placement
    order: OrderRow | None
    failure: FailureKind | None = None
    panel_message: str | None = None
    duplicate: bool = False  # this confirmation was already handled: `order` is its order


def may_refill(order: OrderRow) -> bool:
    return bool(order.refillable) and canonical_status(order.status or "") in REFILL_STATUSES


def may_cancel(order: OrderRow) -> bool:
    return bool(order.cancelable) and order.placement is Placement.PLACED and not order.final


class OrderService:
    def __init__(
        self,
        orders: OrderRepository,
        refills: RefillRepository,
        *,
        poll_interval: float,
        on_unknown: Callable[[OrderRow], Awaitable[None]] | None = None,
        charged: ChargedIntents | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._orders = orders
        self._charged = charged  # a shop's orders: intents written with their charge
        self._refills = refills
        self._poll_interval = poll_interval
        self._on_unknown = on_unknown
        self._clock = clock

    async def place(
        self,
        *,
        intent_token: str,
        owner_id: int,
        account: Account,
        service: Service,
        answers: dict[str, object],
        quote: Quote,
        charge: Charge | None = None,
    ) -> PlacementResult:
        """Write the intent, then `add` once. A second call with the same token does nothing.

        The order records the quote the person confirmed, not a price recomputed here. In a
        shop, `charge` is taken from the wallet in the intent's transaction (InsufficientFunds:
        nothing is written).
        """
        if quote.service != service.service:
            raise ValueError("the quote is for another service")
        new_order = build_order(service, answers)
        quantity = order_quantity(service, answers)
        form = new_order.model_dump(mode="json", exclude_none=True)
        # Link and quantity have columns of their own.
        extra = {
            k: v
            for k, v in form.items()
            if k not in ("service", OrderField.LINK, OrderField.QUANTITY)
        }
        fields: dict[str, Any] = dict(
            intent_token=intent_token,
            owner_id=owner_id,
            account=account.label,
            service_id=service.service,
            service_name=service.name,
            service_type=service.type,
            rate=quote.rate,
            link=new_order.link,
            quantity=quantity,
            extra=extra,
            price=quote.price,
            currency=quote.currency,
            refillable=service.refill,
            cancelable=service.cancel,
        )
        if charge is None:
            intent = await self._orders.create_intent(**fields)
        elif self._charged is None:
            raise TypeError("a charge needs the shop's order repository")
        else:
            intent = await self._charged.create_charged_intent(charge, **fields)
        if intent is None:
            order = await self._orders.get_by_intent(intent_token)
            return PlacementResult(
                order.placement if order is not None else Placement.PENDING, order, duplicate=True
            )
        try:
            panel_order_id = await account.panel.add(new_order)
        except PanelRejected as exc:
            await self._orders.mark_failed(intent.id, exc.message)
            return PlacementResult(
                Placement.FAILED, intent, FailureKind.REJECTED, panel_message=exc.message
            )
        except OrderOutcomeUnknown as exc:
            return await self._unknown(intent.id, exc.reason, answered=True)
        except PanelUnavailable as exc:
            # Surely not sent (connection refused, rate limited): kept for the log, not shown.
            await self._orders.mark_failed(intent.id, exc.reason, FailureKind.UNREACHABLE)
            return PlacementResult(Placement.FAILED, intent, FailureKind.UNREACHABLE)
        except BaseException as exc:
            # Interrupted (a stop, a bug) while `add` may have reached the panel: left pending,
            # nobody would ever look at it again.
            await asyncio.shield(self._unknown(intent.id, f"interrupted ({type(exc).__name__})"))
            raise
        try:
            await self._mark_placed(intent.id, panel_order_id)
        except DuplicatePanelOrder:
            # The panel gave an ID another order of this account already has: someone must look.
            return await self._unknown(
                intent.id, f"panel order ID {panel_order_id} already known", answered=True
            )
        except BaseException as exc:
            log.error("order %s is panel order %s but was not recorded", intent.id, panel_order_id)
            await asyncio.shield(
                self._unknown(
                    intent.id,
                    f"placed as panel order {panel_order_id}, not recorded ({type(exc).__name__})",
                )
            )
            raise
        return PlacementResult(Placement.PLACED, await self._orders.get(intent.id))

    async def _mark_placed(self, local_id: int, panel_order_id: int) -> bool:
        """Placed now: first polled one interval from now. IntegrityError if the ID is known."""
        return await self._orders.mark_placed(
            local_id,
            panel_order_id,
            first_poll_at=self._clock() + self._poll_interval,
            poll_interval=self._poll_interval,
        )

    async def recover_interrupted(self, created_before: float) -> list[OrderRow]:
        """Orders a crash left between intent and answer become unknown, and admins are told.

        Only intents created before `created_before` (this process's start), so another
        instance's confirmation in flight is never taken for an interrupted one.
        """
        recovered = []
        for order in await self._orders.list_pending(created_before):
            result = await self._unknown(order.id, "interrupted by a restart before the answer")
            if result.order is not None and result.order.placement is Placement.UNKNOWN:
                recovered.append(result.order)
        return recovered

    async def _unknown(
        self, local_id: int, reason: str, *, answered: bool = False
    ) -> PlacementResult:
        """pending -> unknown, and the admins are told. `answered`: the owner is being told by
        the answer to their Confirm; otherwise (a stop, a crash) they are told like admins, by
        the notifier, and both facts are recorded once the messages went out."""
        changed = await self._orders.mark_unknown(local_id, reason)
        if changed and answered:
            await self._orders.mark_unknown_told(local_id, Audience.OWNER)
        order = await self._orders.get(local_id)
        if changed:
            log.warning("order %s: outcome unknown (%s)", local_id, reason)
            if self._on_unknown is not None and order is not None:
                await self._on_unknown(order)
        return PlacementResult(Placement.UNKNOWN, order)

    async def refresh(self, order: OrderRow, account: Account) -> OrderRow:
        """Ask the panel for one order's status now, keeping the tracking schedule."""
        if order.panel_order_id is None:
            return order
        info = await account.panel.status(order.panel_order_id)
        # As tracking does: a respelt status is no change, and a missing one no loss.
        status = status_to_store(order.status, info.status)
        if canonical_status(order.status or "") in REFUND_STATUSES and status != order.status:
            # Its money was given back (a shop refunded it, once): a panel reporting it open
            # again, or ended otherwise, must not reopen it to tracking, Cancel or Refill.
            log.warning(
                "order %s: the panel reports %r after %r; kept as it was",
                order.id,
                status,
                order.status,
            )
            return order
        await self._orders.apply_status(
            order.id,
            status=status,
            remains=info.remains,
            start_count=info.start_count,
            charge=order.charge if info.charge is None else info.charge,
            currency=info.currency or order.currency,
            final=is_final_order_status(status),
            next_poll_at=order.next_poll_at,
            poll_interval=order.poll_interval,
        )
        return await self._orders.get(order.id) or order

    async def open_refill(self, order: OrderRow) -> RefillRow | None:
        """A refill of this order the panel is still working on, asked for within a day.

        A second request then would be a duplicate (a double press, two devices); after a day
        a refill that never reached a final status no longer stands in the way.
        """
        recent = self._clock() - REFILL_BLOCKS_SECONDS
        for refill in await self._refills.list_for_order(order.id):
            if not refill.final and refill.created_at > recent:
                return refill
        return None

    async def refill(self, order: OrderRow, account: Account) -> int:
        assert order.panel_order_id is not None
        refill_id = await account.panel.refill(order.panel_order_id)
        await self._refills.create(order.id, refill_id, order.owner_id, order.account)
        return refill_id

    async def cancel(self, order: OrderRow, account: Account) -> str | None:
        """Ask for a cancel; the panel's refusal message, or None when it was accepted (or the
        order is cancelled already)."""
        assert order.panel_order_id is not None
        answers = await account.panel.cancel([order.panel_order_id])
        answer = answers.get(order.panel_order_id)
        if answer is True:
            return None
        # A second Yes (a double tap, another device) is refused because the first cancelled
        # the order already: that is no refusal, and the Canceled status is stored at once.
        try:
            now = await self.refresh(order, account)
        except PanelError:
            now = order
        if canonical_status(now.status or "") is Status.CANCELED:
            return None
        return answer.message if isinstance(answer, ItemError) else ""

    async def adopt(self, owner_id: int, account: Account, panel_order_id: int) -> OrderRow | None:
        """Own-key mode: an order placed on the person's key outside the bot, tracked from now.

        None when the panel does not know the ID on this key, or when another person with the
        same key already follows it: an order has one owner, who alone sees and acts on it.
        """
        known = await self._orders.get_by_panel_id(account.label, panel_order_id)
        if known is not None:
            return known if known.owner_id == owner_id else None
        try:
            info = await account.panel.status(panel_order_id)
        except PanelRejected:
            return None
        intent = await self._orders.create_intent(
            intent_token=f"adopt:{account.label}:{panel_order_id}",
            owner_id=owner_id,
            account=account.label,
            service_id=0,
            service_name="",
            service_type="",
            rate=Decimal(0),
            link=None,
            quantity=None,
            extra={},
            price=None,
            currency=info.currency,
            # Unknown service: offer both and let the panel decide.
            refillable=True,
            cancelable=True,
        )
        if intent is None:
            known = await self._orders.get_by_panel_id(account.label, panel_order_id)
            return known if known is not None and known.owner_id == owner_id else None
        try:
            await self._mark_placed(intent.id, panel_order_id)
        except DuplicatePanelOrder:
            # Someone with the same key adopted it a moment earlier: theirs, and this intent
            # must not linger as an order whose placement is in doubt.
            await self._orders.discard_intent(intent.id)
            return None
        placed = await self._orders.get(intent.id)
        if placed is None:
            return None
        order = await self.refresh(placed, account)
        await self.seen(order)
        return order

    async def seen(self, order: OrderRow) -> None:
        """The person was shown this order's current status: only later changes are news."""
        if order.status is not None:
            await self._orders.mark_notified(order.id, order.status)

    async def resolve_unknown(
        self, order: OrderRow, account: Account, panel_order_id: int | None
    ) -> bool:
        """An admin's verdict on an order of unknown outcome: found on the panel, or not placed.

        A panel ID is checked with the panel first, so a typo cannot attach someone else's order.
        """
        if panel_order_id is None:
            return await self._orders.mark_not_placed(order.id, "not placed (checked by an admin)")
        await account.panel.status(panel_order_id)  # PanelRejected when the panel has no such order
        try:
            return await self._orders.mark_placed(
                order.id,
                panel_order_id,
                first_poll_at=self._clock(),
                poll_interval=self._poll_interval,
            )
        except DuplicatePanelOrder:
            return False  # that panel order is already another order of this account
