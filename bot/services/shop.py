"""The shop: customer prices in the catalogue, quotes, wallets, admin money actions, figures.

No aiogram here: handlers parse and render, this decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from bot.domain import Placement
from bot.panel.models import Service, ServiceType
from bot.services.accounts import Account
from bot.services.catalog import CatalogService, Catalogue, SharedCatalogues
from bot.services.ledger import LedgerPort, refund_in_full, refund_key
from bot.services.money import from_minor
from bot.services.order_form import price_for
from bot.services.ordering import OrderService, PlacementResult
from bot.services.panel_funds import PanelFunds, says_low_funds
from bot.services.pricing import Quote
from bot.services.shop_pricing import Charge, Markups, PriceRule
from bot.storage.ledger import Entry, EntryKind, InsufficientFunds, Movement, Posted
from bot.storage.shop import Override, Scope, ShopRepository

DAY = 24 * 3600
HISTORY = 20


class Outcome(StrEnum):
    DONE = "done"  # see `placement` for what the panel said
    SHORT = "short"  # not enough in the wallet: nothing written
    PANEL_FUNDS = "panel_funds"  # the operator's panel balance cannot pay: nothing charged


@dataclass(frozen=True, slots=True)
class Checkout:
    outcome: Outcome
    placement: PlacementResult | None = None
    missing: int = 0  # SHORT: how much more the wallet needs
    balance: int = 0  # the wallet after it all
    refund: Entry | None = None  # the order's refund, when it was refunded


@dataclass(frozen=True, slots=True)
class ShopRules:
    """The markups and what is hidden, as the overrides in the database say."""

    markups: Markups
    hidden_services: frozenset[int]
    hidden_categories: frozenset[str]

    @classmethod
    def from_overrides(cls, default: Decimal, overrides: list[Override]) -> ShopRules:
        default = next(
            (o.markup for o in overrides if o.scope == "default" and o.markup is not None),
            default,
        )
        services = {int(o.target): o.markup for o in overrides if o.scope == "service"}
        categories = {o.target: o.markup for o in overrides if o.scope == "category"}
        return cls(
            Markups(
                default,
                {k: v for k, v in services.items() if v is not None},
                {k: v for k, v in categories.items() if v is not None},
            ),
            frozenset(int(o.target) for o in overrides if o.scope == "service" and o.hidden),
            frozenset(o.target for o in overrides if o.scope == "category" and o.hidden),
        )

    def sells(self, service: Service) -> bool:
        # Subscriptions are charged by the panel post by post: no price to charge up front.
        return (
            service.kind is not ServiceType.SUBSCRIPTIONS
            and service.service not in self.hidden_services
            and service.category not in self.hidden_categories
        )


@dataclass(frozen=True, slots=True)
class Period:
    topups: int
    sales: int  # charged minus refunded
    cost: int  # the panel's price of what was delivered
    margin: int


class ShopCatalog(CatalogService):
    """The panel's catalogue as customers see it: the shop's prices, without hidden services.

    A service's `rate` here is the customer's price per 1000 (or per package), exact: what the
    order form prices is then the customer's price before rounding up.
    """

    def __init__(
        self,
        ttl: float,
        repo: ShopRepository,
        default_markup: Decimal,
        rule: PriceRule,
        *,
        shared: SharedCatalogues | None = None,
    ) -> None:
        # `shared`: the panel's catalogue kept for every instance (REDIS_URL).
        super().__init__(ttl, shared=shared)
        self._repo = repo
        self._default_markup = default_markup
        self.rule = rule
        self._views: dict[str, tuple[Catalogue, ShopRules, Catalogue]] = {}

    async def rules(self) -> ShopRules:
        return ShopRules.from_overrides(self._default_markup, await self._repo.overrides())

    async def get(self, account: Account, *, max_age: float | None = None) -> Catalogue:
        raw = await self.panel_catalogue(account, max_age=max_age)
        rules = await self.rules()
        seen = self._views.get(account.label)
        if seen is not None and seen[0] is raw and seen[1] == rules:
            return seen[2]
        view = Catalogue(
            tuple(
                s.model_copy(
                    update={
                        "rate": self.rule.exact(
                            s.rate, rules.markups.for_service(s.service, s.category)
                        )
                    }
                )
                for s in raw.services
                if rules.sells(s)
            )
        )
        self._views[account.label] = (raw, rules, view)
        return view

    async def panel_catalogue(self, account: Account, *, max_age: float | None = None) -> Catalogue:
        """The panel's own catalogue (its prices): never shown to customers."""
        return await super().get(account, max_age=max_age)


class ShopService:
    def __init__(
        self,
        currency: str,
        catalog: ShopCatalog,
        ledger: LedgerPort,
        repo: ShopRepository,
        ordering: OrderService,
        funds: PanelFunds,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.currency = currency
        self.digits = catalog.rule.digits
        self.rule = catalog.rule
        self._catalog = catalog
        self._ledger = ledger
        self._repo = repo
        self._ordering = ordering
        self._funds = funds
        self._clock = clock

    @property
    def catalog(self) -> ShopCatalog:
        return self._catalog

    async def set_markup(
        self, scope: Scope, target: str, markup: Decimal | None, admin_id: int
    ) -> None:
        await self._repo.set_markup(scope, target, markup, admin_id)

    async def set_hidden(self, scope: Scope, target: str, hidden: bool, admin_id: int) -> None:
        await self._repo.set_hidden(scope, target, hidden, admin_id)

    async def rules(self) -> ShopRules:
        return await self._catalog.rules()

    def amount(self, minor: int) -> Decimal:
        """Minor units as an amount of the shop currency (for showing it)."""
        return from_minor(minor, self.digits)

    async def quote_for(
        self, account: Account, offered: Service, answers: dict[str, object]
    ) -> Charge | None:
        """The quote of the confirmation: what Confirm takes from the wallet."""
        panel = (await self._catalog.panel_catalogue(account)).by_id.get(offered.service)
        return self.quote(offered, answers, panel)

    def quote(
        self, offered: Service, answers: dict[str, object], panel_service: Service | None
    ) -> Charge | None:
        """The charge for an order of `offered` (a ShopCatalog service), None if not sold.

        `panel_service` is the panel's own entry, for the cost; missing, the cost is the
        price (no margin is claimed that cannot be shown).
        """
        exact = price_for(offered, answers)
        if exact is None:
            return None
        amount = self.rule.charge(exact)
        panel_cost = price_for(panel_service, answers) if panel_service is not None else None
        cost = self.rule.cost(panel_cost) if panel_cost is not None else amount
        return Charge(price=self.amount(amount), currency=self.currency, amount=amount, cost=cost)

    async def checkout(
        self,
        *,
        intent_token: str,
        owner_id: int,
        account: Account,
        service: Service,
        answers: dict[str, object],
        quote: Quote,
        charge: Charge,
    ) -> Checkout:
        """Check the panel can pay, charge the wallet with the intent, `add` once, and refund
        at once what surely was not ordered."""
        panel_cost = self.amount(charge.cost) / self.rule.rate
        if not await self._funds.covers(panel_cost):
            return Checkout(Outcome.PANEL_FUNDS, balance=await self.balance(owner_id))
        try:
            placed = await self._ordering.place(
                intent_token=intent_token,
                owner_id=owner_id,
                account=account,
                service=service,
                answers=answers,
                quote=quote,
                charge=charge,
            )
        except InsufficientFunds as exc:
            return Checkout(Outcome.SHORT, missing=exc.missing, balance=exc.balance)
        outcome = Outcome.DONE
        if placed.placement is Placement.PLACED and not placed.duplicate:
            self._funds.spent(panel_cost)
        elif says_low_funds(placed.panel_message):
            await self._funds.short()
            outcome = Outcome.PANEL_FUNDS
        refund = None
        if placed.order is not None and not placed.duplicate:
            refund = await self._ledger.by_key(refund_key(placed.order.id))
        return Checkout(outcome, placed, balance=await self.balance(owner_id), refund=refund)

    async def refund_of(self, order_id: int) -> Entry | None:
        return await self._ledger.by_key(refund_key(order_id))

    async def balance(self, user_id: int) -> int:
        return await self._ledger.balance(user_id)

    async def history(self, user_id: int) -> list[Entry]:
        return await self._ledger.history(user_id, HISTORY)

    async def admin_move(
        self, admin_id: int, user_id: int, amount: int, note: str, *, credit: bool, key: str
    ) -> Posted:
        """An admin's credit or debit (InsufficientFunds: a debit below zero, nothing moved).

        `key` names the admin's command (chat and message): a redelivered update moves nothing.
        """
        return await self._ledger.post(
            Movement(
                user_id=user_id,
                kind=EntryKind.ADMIN_CREDIT if credit else EntryKind.ADMIN_DEBIT,
                amount=amount,
                key=key,
                reference=f"admin:{admin_id}",
                actor_id=admin_id,
                note=note,
            )
        )

    async def refund_ended(self, order_id: int) -> Posted | None:
        """An admin gives back an ended order's whole charge (None: it took nothing from a
        wallet). At most once per order whoever asks, two admins or the tracker: every refund
        of an order has the one key, and a second returns the first, not fresh."""
        return await refund_in_full(self._ledger, order_id)

    async def period(self, since: float) -> Period:
        sales = await self._repo.sales(since)
        sold = sum(s.charge - s.refund for s in sales)
        # What the panel keeps of a refunded order shrinks as ours does: cost × kept share.
        cost = sum(s.cost * (s.charge - s.refund) // s.charge for s in sales if s.charge)
        return Period(await self._repo.topups(since), sold, cost, sold - cost)

    async def stats(self) -> tuple[int, int, dict[str, Period]]:
        """People, money held, and the periods today (UTC), 7 days and all time."""
        now = self._clock()
        figures = await self._repo.figures()
        periods = {
            "today": await self.period(now - now % DAY),
            "week": await self.period(now - 7 * DAY),
            "all": await self.period(0.0),
        }
        return figures.people, figures.held, periods
