"""Random sequences of everything that moves money, played on a ledger and checked against
a model kept here: the same scenarios drive the in-memory ledger and the database's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

from hypothesis import strategies as st

from bot.services.ledger import LedgerPort, audit, refund_key
from bot.services.referrals import Referrals, commission, commission_key
from bot.services.shop_pricing import refund_for
from bot.services.topup_wallet import LedgerWallet
from bot.storage.ledger import EntryKind, InsufficientFunds, Movement

USERS = 3
ADMIN = 900
# Person 1 was brought by person 0, person 2 by person 1; person 0 by nobody. Small top-ups'
# commissions round to nothing.
REFERRERS = {1: 0, 2: 1}
PERCENT = Decimal("12.5")


class ScenarioReferrals:
    """Who brought whom (bot.services.referrals.ReferralStore), fixed for every scenario."""

    async def referrer_of(self, user_id: int) -> int | None:
        return REFERRERS.get(user_id)

    async def code_of(self, user_id: int, new: str) -> str:
        return new

    async def brought(self, user_id: int) -> int:
        return sum(1 for referrer in REFERRERS.values() if referrer == user_id)

    async def earned(self, user_id: int) -> int:
        raise NotImplementedError("the scenarios read the ledger itself")


class OrdersPort(Protocol):
    """Orders as the shop moves money with them (the ShopOrders repository, or a model)."""

    async def open(self, user: int, price: int, quantity: int) -> int:
        """The intent and its charge; its order ID (InsufficientFunds: nothing written)."""
        ...

    async def placed(self, order_id: int) -> None: ...

    async def failed(self, order_id: int) -> None:
        """Refused by the panel, or surely not sent: refunded in full."""
        ...

    async def unknown(self, order_id: int) -> None: ...

    async def not_placed(self, order_id: int) -> None:
        """An admin found the unknown order is not on the panel: refunded in full."""
        ...

    async def status(self, order_id: int, status: str, remains: int) -> None:
        """A final status from tracking; refunded as it says, when it is news."""
        ...


class World(Protocol):
    ledger: LedgerPort
    orders: OrdersPort

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
prices = st.integers(1, 800)  # below most top-ups: most orders are paid for
ops: st.SearchStrategy[Op] = st.one_of(
    st.builds(TopUp, users, amounts, st.booleans()),
    st.builds(
        Buy,
        users,
        prices,
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

# Every path that moves money, at least once, whatever the random examples reach.
EVERY_PATH = [
    TopUp(0, 5_000, False),
    TopUp(0, 5_000, True),
    TopUp(1, 1_000, False),  # person 0's commission
    TopUp(1, 1_000, True),  # replayed: no second commission
    TopUp(2, 7, False),  # a commission that rounds to nothing
    Admin(1, 100, True),  # no commission on an admin's credit
    Buy(0, 700, 10, "placed"),
    Buy(0, 300, 10, "refused"),
    Buy(0, 300, 10, "not_sent"),
    Buy(0, 300, 10, "unknown"),
    Buy(0, 300, 10, "unknown"),
    Buy(0, 300, 10, "in_flight"),
    Buy(0, 300, 1_000, "placed"),
    Buy(0, 9_999, 10, "placed"),  # not enough: nothing written
    Settle(0, True),
    Settle(0, False),
    Status(0, "Partial", 333),
    Status(0, "Canceled", 0),
    SeenAgain(0),
    SeenAgain(1),
    Restart(),
    Settle(0, False),  # what was in flight at the restart
    Admin(0, 100, True),
    Admin(0, 99_999, False),  # refused: below zero
    Admin(0, 100, False),
    Restart(),
    SeenAgain(0),
]


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
    commissions: int = 0
    paid_commissions: list[str] = field(default_factory=list)  # the top-ups' keys
    credits: int = 0
    debits: int = 0
    charges: int = 0
    refunds: int = 0
    orders: list[Order] = field(default_factory=list)
    payments: list[tuple[int, int]] = field(default_factory=list)

    def pick(self, index: int, which: Callable[[Order], bool]) -> Order | None:
        """One of the orders `which` takes (the scenario's index, wrapped), or None."""
        candidates = [o for o in self.orders if which(o)]
        return candidates[index % len(candidates)] if candidates else None

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
                share = commission(amount, PERCENT)
                referrer = REFERRERS.get(user)
                if referrer is not None and share > 0:
                    model.balances[referrer] += share
                    model.commissions += share
                    model.paid_commissions.append(key)
            # Credited as the shop credits a payment: with its referrer's commission, if any.
            wallet = LedgerWallet(ledger, Referrals(ScenarioReferrals(), PERCENT))
            moved = await wallet.credit(user, amount, key=key, reference=f"payment:{key}")
            assert moved.fresh != replay
            assert moved.balance == model.balances[user]
        case Buy(user, price, quantity, outcome):
            enough = model.balances[user] >= price
            try:
                order_id = await world.orders.open(user, price, quantity)
            except InsufficientFunds as exc:
                assert not enough
                assert exc.missing == price - model.balances[user]
                return
            assert enough
            order = Order(order_id, user, price, quantity, "open")
            model.balances[user] -= price
            model.charges += price
            model.orders.append(order)
            if outcome in ("refused", "not_sent"):
                order.state = "final"
                await world.orders.failed(order.id)
                model.refunded(order, price)
            elif outcome == "unknown":
                order.state = "unknown"
                await world.orders.unknown(order.id)
            elif outcome == "in_flight":
                order.state = "in_flight"
            else:
                await world.orders.placed(order.id)
        case Settle(index, found):
            order = model.pick(index, lambda o: o.state == "unknown")
            if order is None:
                return
            if found:
                order.state = "open"
                await world.orders.placed(order.id)
            else:
                order.state = "final"
                await world.orders.not_placed(order.id)
                model.refunded(order, order.price)
        case Status(index, status, remains):
            order = model.pick(index, lambda o: o.state == "open")
            if order is None:
                return
            order.state = "final"
            order.last_status = op
            await world.orders.status(order.id, status, remains)
            model.refunded(order, refund_for(order.price, status, order.quantity, remains))
        case SeenAgain(index):
            order = model.pick(index, lambda o: o.last_status is not None)
            seen = order.last_status if order is not None else None
            if order is None or seen is None:
                return
            # The tracker, or a replay after a restart, stores the same status again.
            await world.orders.status(order.id, seen.status, seen.remains)
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
                    await world.orders.unknown(order.id)


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
    paid_in = model.topups + model.commissions + model.credits
    assert held == paid_in - model.debits - model.charges + model.refunds
    # One commission per top-up of a referred person, none for anything else.
    paid = [e.key for e in entries if e.kind is EntryKind.REFERRAL_COMMISSION]
    assert paid == [commission_key(key) for key in model.paid_commissions]
    for order in model.orders:
        refunds = [e for e in entries if e.key == refund_key(order.id)]
        assert len(refunds) <= 1
