"""Random sequences of everything that moves money, played on a ledger and checked against
a model kept here: the same scenarios drive the in-memory ledger and the database's."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal, Protocol

from hypothesis import strategies as st

from bot.services.ledger import (
    LedgerPort,
    audit,
    charge_order,
    refund_in_full,
    refund_key,
    refund_order,
)
from bot.services.shop_pricing import refund_for
from bot.storage.ledger import EntryKind, InsufficientFunds, Movement

USERS = 3
ADMIN = 900


class World(Protocol):
    ledger: LedgerPort

    async def restart(self) -> None: ...


@dataclass(frozen=True)
class TopUp:
    user: int
    amount: int
    replay: bool  # the payment's event delivered again


@dataclass(frozen=True)
class Buy:
    user: int
    price: int
    quantity: int
    outcome: Literal["placed", "refused", "not_sent", "unknown", "in_flight"]


@dataclass(frozen=True)
class Settle:
    order: int
    found: bool


@dataclass(frozen=True)
class Status:
    order: int
    status: Literal["Partial", "Canceled", "Refunded", "Completed"]
    remains: int


@dataclass(frozen=True)
class SeenAgain:
    order: int


@dataclass(frozen=True)
class Admin:
    user: int
    amount: int
    credit: bool


@dataclass(frozen=True)
class Restart:
    pass


Op = TopUp | Buy | Settle | Status | SeenAgain | Admin | Restart

users = st.integers(0, USERS - 1)
amounts = st.integers(1, 5_000)
ops: st.SearchStrategy[Op] = st.one_of(
    st.builds(TopUp, users, amounts, st.booleans()),
    st.builds(
        Buy,
        users,
        amounts,
        st.integers(1, 1_000),
        st.sampled_from(["placed", "refused", "not_sent", "unknown", "in_flight"]),
    ),
    st.builds(Settle, st.integers(0, 30), st.booleans()),
    st.builds(
        Status,
        st.integers(0, 30),
        st.sampled_from(["Partial", "Canceled", "Refunded", "Completed"]),
        st.integers(-5, 1_100),  # panels send remains out of range too
    ),
    st.builds(SeenAgain, st.integers(0, 30)),
    st.builds(Admin, users, amounts, st.booleans()),
    st.just(Restart()),
)
scenarios = st.lists(ops, max_size=40)


@dataclass
class Order:
    id: int
    user: int
    price: int
    quantity: int
    state: Literal["open", "unknown", "in_flight", "final"]
    last_status: Status | None = None


@dataclass
class Model:
    """What the ledger must say, worked out without it."""

    balances: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    topups: int = 0
    credits: int = 0
    debits: int = 0
    charges: int = 0
    refunds: int = 0
    orders: list[Order] = field(default_factory=list)
    payments: list[tuple[int, int]] = field(default_factory=list)

    def refunded(self, order: Order, amount: int) -> None:
        self.balances[order.user] += amount
        self.refunds += amount


async def play(world: World, scenario: list[Op]) -> None:
    model = Model()
    for op in scenario:
        await step(world, model, op)
        await check(world.ledger, model)


async def step(world: World, model: Model, op: Op) -> None:
    ledger = world.ledger
    match op:
        case TopUp(user, amount, replay):
            replay = replay and bool(model.payments)
            if replay:
                user, amount = model.payments[-1]
                key = f"topup:{len(model.payments) - 1}"
            else:
                key = f"topup:{len(model.payments)}"
                model.payments.append((user, amount))
                model.balances[user] += amount
                model.topups += amount
            posted = await ledger.post(
                Movement(user, EntryKind.TOPUP, amount, key, f"payment:{key}", user)
            )
            assert posted.fresh != replay
        case Buy(user, price, quantity, outcome):
            order = Order(len(model.orders) + 1, user, price, quantity, "open")
            enough = model.balances[user] >= price
            try:
                await charge_order(ledger, user, order.id, price)
            except InsufficientFunds as exc:
                assert not enough
                assert exc.missing == price - model.balances[user]
                return
            assert enough
            model.balances[user] -= price
            model.charges += price
            model.orders.append(order)
            if outcome in ("refused", "not_sent"):
                order.state = "final"
                assert (await refund_in_full(ledger, order.id)) is not None
                model.refunded(order, price)
            elif outcome in ("unknown", "in_flight"):
                order.state = outcome
        case Settle(index, found) if model.orders:
            order = model.orders[index % len(model.orders)]
            if order.state != "unknown":
                return
            if found:
                order.state = "open"
            else:
                order.state = "final"
                posted = await refund_in_full(ledger, order.id)
                assert posted is not None and posted.fresh
                model.refunded(order, order.price)
        case Status(index, status, remains) if model.orders:
            order = model.orders[index % len(model.orders)]
            if order.state != "open":
                return
            order.state = "final"
            order.last_status = op
            amount = refund_for(order.price, status, order.quantity, remains)
            posted = await refund_order(ledger, order.id, amount)
            assert (posted is not None) == (amount > 0)
            if amount:
                model.refunded(order, amount)
        case SeenAgain(index) if model.orders:
            order = model.orders[index % len(model.orders)]
            seen = order.last_status
            if seen is None:
                return
            amount = refund_for(order.price, seen.status, order.quantity, seen.remains)
            posted = await refund_order(ledger, order.id, amount)
            assert posted is None or not posted.fresh
        case Admin(user, amount, credit):
            kind = EntryKind.ADMIN_CREDIT if credit else EntryKind.ADMIN_DEBIT
            key = f"admin:{ADMIN}:{model.credits + model.debits}:{user}:{amount}:{credit}"
            movement = Movement(user, kind, amount, key, f"admin:{ADMIN}", ADMIN, "note")
            if credit or model.balances[user] >= amount:
                await ledger.post(movement)
                model.balances[user] += movement.signed
                if credit:
                    model.credits += amount
                else:
                    model.debits += amount
            else:
                try:
                    await ledger.post(movement)
                except InsufficientFunds:
                    pass
                else:
                    raise AssertionError("a debit took a wallet below zero")
        case Restart():
            await world.restart()
            # What was in flight at the stop is now of unknown outcome; its charge stays.
            for order in model.orders:
                if order.state == "in_flight":
                    order.state = "unknown"


async def check(ledger: LedgerPort, model: Model) -> None:
    wallets = await ledger.wallets()
    entries = await ledger.all_entries()
    assert audit(wallets, entries) == []
    assert all(balance >= 0 for balance in wallets.values())
    for user in range(USERS):
        assert await ledger.balance(user) == model.balances[user]
        history = await ledger.history(user, 1_000)
        assert sum(e.amount for e in history) == model.balances[user]
    held = sum(wallets.values())
    assert held == model.topups + model.credits - model.debits - model.charges + model.refunds
    for order in model.orders:
        refunds = [e for e in entries if e.key == refund_key(order.id)]
        assert len(refunds) <= 1
