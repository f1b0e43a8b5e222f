"""Top-ups: a person fills their wallet through Telegram Stars or Crypto Pay, credited once.

A top-up is recorded (pending) before any invoice exists; its own ID is the invoice's opaque
payload. Money that arrived is credited to the wallet keyed on the provider's own identity of
the payment (Telegram's `telegram_payment_charge_id`, Crypto Pay's invoice ID), so a replayed
update, a second webhook delivery, or the poll and the webhook both seeing one payment credit
nothing more. A payment is credited even for a top-up marked expired or paid already: money
received is never dropped (the second payment of one top-up is logged for the admins).

No aiogram and no SQL here: the rules run against two ports, `TopupStore` (the records) and
`WalletPort` (the shop's ledger), and the provider calls come in as `StarsRefunder` and the
Crypto Pay client.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from bot.payments.cryptopay import CryptoPayClient, CryptoPayError, Invoice
from bot.payments.stars import MAX_STARS, STARS_CURRENCY
from bot.storage.topups import Provider, Topup, TopupStatus

log = logging.getLogger(__name__)


class TopupStore(Protocol):
    async def create(
        self,
        user_id: int,
        provider: Provider,
        amount: int,
        stars: int | None,
        expires_at: float | None,
    ) -> Topup: ...

    async def get(self, topup_id: int) -> Topup | None: ...

    async def by_charge(self, provider: Provider, charge_id: str) -> Topup | None: ...

    async def attach_invoice(self, topup_id: int, invoice_id: str, url: str) -> None:
        """The Crypto Pay invoice made for a pending top-up."""
        ...

    async def settle(self, topup_id: int, status: TopupStatus, charge_id: str | None) -> bool:
        """Move a top-up to `status` (and record `charge_id` if it has none yet) only from the
        states that may lead there: pending → paid/expired, expired → paid (money that came
        at the last moment), refunding → paid (a refund that did not happen), paid/refunding →
        refunded. False when it was not in such a state (nothing changed)."""
        ...

    async def start_refund(self, topup_id: int) -> int | None:
        """paid → refunding, counting the attempt; the attempt's number, or None if the top-up
        was not paid (another refund is under way, or done)."""
        ...

    async def open_invoices(self) -> list[Topup]:
        """Pending Crypto Pay top-ups that have an invoice, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class Moved:
    fresh: bool  # False: this key was posted before, and nothing moved now
    balance: int


class InsufficientFunds(Exception):
    def __init__(self, balance: int) -> None:
        super().__init__(f"balance {balance}")
        self.balance = balance


class WalletPort(Protocol):
    """The shop's ledger as top-ups use it; every movement is posted once per key."""

    async def credit(self, user_id: int, amount: int, *, key: str, reference: str) -> Moved: ...

    async def debit(self, user_id: int, amount: int, *, key: str, reference: str) -> Moved:
        """InsufficientFunds (nothing taken) if the wallet holds less than `amount`."""
        ...

    async def balance(self, user_id: int) -> int: ...


class StarsRefunder(Protocol):
    async def __call__(self, user_id: int, charge_id: str) -> None:
        """Give the Stars back; RefundRefused if Telegram refused (nothing was refunded), any
        other exception if its outcome is unknown."""
        ...


class RefundRefused(Exception):
    pass


# --- outcomes --------------------------------------------------------------------------------


class CheckoutRefusal(StrEnum):
    """Why a pre-checkout is answered ok=false (the handler words it in the person's language)."""

    UNKNOWN = "unknown"
    NOT_SERVED = "not_served"  # the payer is banned
    NOT_YOURS = "not_yours"
    PAID = "paid"
    EXPIRED = "expired"
    MISMATCH = "mismatch"


@dataclass(frozen=True, slots=True)
class Credited:
    topup: Topup
    amount: int
    balance: int
    fresh: bool  # False: this payment was credited before; nothing was added now


class RefundOutcome(StrEnum):
    REFUNDED = "refunded"
    UNKNOWN_CHARGE = "unknown_charge"
    NOT_PAID = "not_paid"  # not a paid Stars top-up (refunded already, or being refunded)
    SPENT = "spent"  # the credited amount is no longer in the wallet: nothing done
    REFUSED = "refused"  # Telegram refused; the debit was reversed
    UNCERTAIN = "uncertain"  # Telegram's answer was lost; the debit stays, nothing resent


@dataclass(frozen=True, slots=True)
class Refund:
    outcome: RefundOutcome
    topup: Topup | None = None
    balance: int | None = None


@dataclass(frozen=True, slots=True)
class OutsideRefund:
    """Stars refunded without /refund_stars: what the wallet gave back of the credit."""

    topup: Topup
    taken: int  # debited from the wallet now
    spent: int  # of the credit, already spent: the operator's loss
    balance: int


class TopupUnavailable(Exception):
    """The provider could not make an invoice now; the top-up was closed, nothing is owed."""


# --- keys ------------------------------------------------------------------------------------


def credit_key(provider: Provider, charge_id: str) -> str:
    return f"topup:{provider.value}:{charge_id}"


def reference(topup_id: int) -> str:
    return f"topup:{topup_id}"


def stars_price(amount: int, digits: int, stars_per_unit: Decimal) -> int:
    """Whole Stars for `amount` minor units, rounded up (a top-up never costs less than its
    rate), at least one."""
    exact = Decimal(amount).scaleb(-digits) * stars_per_unit
    return max(1, math.ceil(exact))


# --- the service -----------------------------------------------------------------------------


class TopupService:
    def __init__(
        self,
        store: TopupStore,
        wallet: WalletPort,
        *,
        currency: str,
        digits: int,
        stars_per_unit: Decimal | None,
        cryptopay: CryptoPayClient | None,
        cryptopay_assets: Sequence[str] = (),
        invoice_seconds: int = 3600,
        on_paid: Callable[[Credited], Awaitable[None]] | None = None,
        on_refunded_outside: Callable[[OutsideRefund], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._wallet = wallet
        self.currency = currency
        self.digits = digits
        self._stars_per_unit = stars_per_unit
        self._cryptopay = cryptopay
        self._assets = list(cryptopay_assets)
        self._invoice_seconds = invoice_seconds
        self._on_paid = on_paid
        self._on_refunded_outside = on_refunded_outside
        self._clock = clock

    async def close(self) -> None:
        if self._cryptopay is not None:
            await self._cryptopay.close()

    @property
    def providers(self) -> list[Provider]:
        """The providers that are on, in the order offered."""
        on = []
        if self._stars_per_unit is not None:
            on.append(Provider.STARS)
        if self._cryptopay is not None:
            on.append(Provider.CRYPTOPAY)
        return on

    def most(self, provider: Provider, most: int) -> int:
        """The largest top-up `provider` takes, at most `most` minor units (TOPUP_MAX_AMOUNT).

        One Stars invoice holds MAX_STARS: beyond that Telegram refuses the invoice, so the
        amounts offered and the bound told stop there.
        """
        if provider is not Provider.STARS or self._stars_per_unit is None:
            return most
        # Exact in integers: the greatest amount whose Stars price (rounded up) fits.
        stars, units = self._stars_per_unit.as_integer_ratio()
        return min(most, MAX_STARS * units * 10**self.digits // stars)

    # --- Stars ---------------------------------------------------------------------------------

    async def start_stars(self, user_id: int, amount: int) -> Topup:
        """Record a Stars top-up; the handler then sends its invoice (payload = its ID)."""
        if self._stars_per_unit is None:
            raise RuntimeError("Stars are off")
        stars = stars_price(amount, self.digits, self._stars_per_unit)
        if stars > MAX_STARS:
            raise ValueError("above Telegram's limit for one Stars invoice")
        return await self._store.create(user_id, Provider.STARS, amount, stars, None)

    async def pre_checkout(
        self, payer_id: int, payload: str, currency: str, total: int, *, banned: bool = False
    ) -> CheckoutRefusal | None:
        """None: the payment may go ahead; otherwise why not.

        A banned payer is refused: the shop sells them nothing (a payment that comes anyway,
        the ban having come after this answer, is still credited).
        """
        if banned:
            return CheckoutRefusal.NOT_SERVED
        topup = await self._by_payload(payload)
        if topup is None or topup.provider is not Provider.STARS:
            return CheckoutRefusal.UNKNOWN
        if topup.user_id != payer_id:
            return CheckoutRefusal.NOT_YOURS
        if topup.status is TopupStatus.EXPIRED:
            return CheckoutRefusal.EXPIRED
        if topup.status is not TopupStatus.PENDING:
            return CheckoutRefusal.PAID
        if currency != STARS_CURRENCY or total != topup.stars:
            return CheckoutRefusal.MISMATCH
        return None

    async def stars_paid(
        self, payer_id: int, payload: str, charge_id: str, currency: str, total: int
    ) -> Credited | None:
        """Telegram says Stars arrived: credit the top-up once per charge ID. None when the
        payment belongs to no top-up of ours (logged: the admins refund it by hand)."""
        topup = await self._by_payload(payload)
        if topup is None or topup.provider is not Provider.STARS:
            log.error("Stars payment %s for no known top-up (payload %r)", charge_id, payload)
            return None
        if currency != STARS_CURRENCY or total != topup.stars:
            # Telegram charged what the invoice said: a mismatch means the invoice was not ours.
            log.error("Stars payment %s does not match top-up %s", charge_id, topup.id)
            return None
        if topup.user_id != payer_id:
            # Someone paid another's (forwarded) invoice: the payer's Stars, not the owner's
            # credit. The pre-checkout refuses it; one that got through is refunded by hand.
            log.error(
                "Stars payment %s by %s for another's top-up %s", charge_id, payer_id, topup.id
            )
            return None
        return await self._credit(topup, charge_id)

    async def refund_stars(self, charge_id: str, refund: StarsRefunder) -> Refund:
        """Debit the wallet first, then ask Telegram; a refused refund reverses the debit."""
        topup = await self._store.by_charge(Provider.STARS, charge_id)
        if topup is None:
            return Refund(RefundOutcome.UNKNOWN_CHARGE)
        attempt = await self._store.start_refund(topup.id)
        if attempt is None:
            return Refund(RefundOutcome.NOT_PAID, topup)
        debit_key = f"{credit_key(Provider.STARS, charge_id)}:refund:{attempt}"
        try:
            await self._wallet.debit(
                topup.user_id, topup.amount, key=debit_key, reference=reference(topup.id)
            )
        except InsufficientFunds as short:
            await self._store.settle(topup.id, TopupStatus.PAID, None)
            return Refund(RefundOutcome.SPENT, topup, short.balance)
        try:
            await refund(topup.user_id, charge_id)
        except RefundRefused:
            moved = await self._wallet.credit(
                topup.user_id,
                topup.amount,
                key=f"{debit_key}:reversed",
                reference=reference(topup.id),
            )
            await self._store.settle(topup.id, TopupStatus.PAID, None)
            return Refund(RefundOutcome.REFUSED, topup, moved.balance)
        except Exception:
            # Telegram may have refunded: the debit stays, and a refunded_payment update (or
            # an admin) settles it. Never asked again on our own.
            log.exception("refund of Stars charge %s: outcome unknown", charge_id)
            return Refund(RefundOutcome.UNCERTAIN, topup, await self._wallet.balance(topup.user_id))
        await self._store.settle(topup.id, TopupStatus.REFUNDED, None)
        return Refund(RefundOutcome.REFUNDED, topup, await self._wallet.balance(topup.user_id))

    async def stars_refunded(self, charge_id: str) -> OutsideRefund | None:
        """Telegram says the Stars went back (refunded_payment): recorded, never credited.

        After /refund_stars the wallet was debited already. Refunded from outside the bot
        (Telegram support), the payer holds the Stars and the credit: the credit is taken back
        as far as the wallet still holds it, and what was spent already is the operator's loss,
        told to the admins (`on_refunded_outside`) rather than left as a negative balance."""
        topup = await self._store.by_charge(Provider.STARS, charge_id)
        if topup is None:
            log.warning("refunded_payment for an unknown Stars charge %s", charge_id)
            return None
        outside = None
        if topup.status is TopupStatus.PAID:
            outside = await self._withdraw(topup, charge_id)
        await self._store.settle(topup.id, TopupStatus.REFUNDED, None)
        if outside is not None:
            log.error(
                "Stars charge %s refunded outside the bot; top-up %s: %s taken back, %s spent",
                charge_id,
                topup.id,
                outside.taken,
                outside.spent,
            )
            if self._on_refunded_outside is not None:
                await self._on_refunded_outside(outside)
        return outside

    async def _withdraw(self, topup: Topup, charge_id: str) -> OutsideRefund | None:
        """Take back up to the top-up's credit, once per charge; None if done before."""
        key = f"{credit_key(Provider.STARS, charge_id)}:refunded-outside"
        available = await self._wallet.balance(topup.user_id)
        while (take := min(topup.amount, available)) > 0:
            try:
                moved = await self._wallet.debit(
                    topup.user_id, take, key=key, reference=reference(topup.id)
                )
            except InsufficientFunds as short:
                available = short.balance  # spent meanwhile: take what is left
                continue
            if not moved.fresh:
                return None  # a replay of this refund: taken back before
            return OutsideRefund(topup, take, topup.amount - take, moved.balance)
        return OutsideRefund(topup, 0, topup.amount, max(available, 0))

    # --- Crypto Pay ----------------------------------------------------------------------------

    async def start_cryptopay(self, user_id: int, amount: int, description: str) -> Topup:
        """Record a Crypto Pay top-up, then make its invoice. TopupUnavailable when Crypto Pay
        cannot: the top-up is closed as expired (an invoice whose answer was lost was never
        shown to anyone, so it cannot be paid)."""
        if self._cryptopay is None:
            raise RuntimeError("Crypto Pay is off")
        expires_at = self._clock() + self._invoice_seconds
        topup = await self._store.create(user_id, Provider.CRYPTOPAY, amount, None, expires_at)
        try:
            invoice = await self._cryptopay.create_invoice(
                fiat=self.currency,
                amount=Decimal(amount).scaleb(-self.digits),
                accepted_assets=self._assets,
                payload=topup.payload,
                description=description,
                expires_in=self._invoice_seconds,
            )
        except CryptoPayError as exc:
            log.warning("Crypto Pay: no invoice for top-up %s: %s", topup.id, exc)
            await self._store.settle(topup.id, TopupStatus.EXPIRED, None)
            raise TopupUnavailable from None
        await self._store.attach_invoice(topup.id, str(invoice.invoice_id), invoice.bot_invoice_url)
        made = await self._store.get(topup.id)
        assert made is not None
        return made

    async def invoice_paid(self, invoice: Invoice) -> Credited | None:
        """A paid invoice (from the webhook or the poll): credit its top-up once per invoice."""
        if not invoice.paid:
            return None
        topup = await self._store.by_charge(Provider.CRYPTOPAY, str(invoice.invoice_id))
        if topup is None:
            log.error("Crypto Pay invoice %s paid for no known top-up", invoice.invoice_id)
            return None
        expected = Decimal(topup.amount).scaleb(-self.digits)
        if invoice.fiat != self.currency or invoice.amount != expected:
            log.error(
                "Crypto Pay invoice %s does not match top-up %s", invoice.invoice_id, topup.id
            )
            return None
        return await self._credit(topup, str(invoice.invoice_id))

    async def poll_invoices(self) -> None:
        """One look at every open invoice (see _look_at)."""
        await self._look_at(await self._store.open_invoices())

    async def check_invoice(self, topup_id: int, user_id: int) -> Topup | None:
        """'I have paid': one look at the person's own top-up's invoice, and nobody else's
        (a forged button asks Crypto Pay nothing); the top-up as it then stands."""
        topup = await self.usable(topup_id, user_id)
        if topup is not None:
            await self._look_at([topup])
        return await self.own(topup_id, user_id)

    async def _look_at(self, topups: Sequence[Topup]) -> None:
        """Ask Crypto Pay about these top-ups' invoices: paid ones credited, expired ones
        marked; one Crypto Pay no longer lists (deleted in the app) is expired once its time
        is up."""
        if self._cryptopay is None:
            return
        open_ = {t.charge_id: t for t in topups if t.provider is Provider.CRYPTOPAY and t.charge_id}
        if not open_:
            return
        try:
            invoices = await self._cryptopay.get_invoices(int(i) for i in open_)
        except CryptoPayError as exc:
            log.warning("Crypto Pay: invoices not checked: %s", exc)
            return
        listed = {str(invoice.invoice_id) for invoice in invoices}
        for invoice in invoices:
            topup = open_.get(str(invoice.invoice_id))
            if invoice.paid:
                await self.invoice_paid(invoice)
            elif invoice.expired and topup is not None:
                await self._store.settle(topup.id, TopupStatus.EXPIRED, None)
        now = self._clock()
        for charge_id, topup in open_.items():
            if charge_id not in listed and topup.expires_at is not None and topup.expires_at < now:
                await self._store.settle(topup.id, TopupStatus.EXPIRED, None)

    async def own(self, topup_id: int, user_id: int) -> Topup | None:
        """The person's own top-up (another's, forged into a button, is None)."""
        topup = await self._store.get(topup_id)
        return topup if topup is not None and topup.user_id == user_id else None

    async def usable(self, topup_id: int, user_id: int) -> Topup | None:
        """The person's own pending top-up, if its invoice may still be paid (for buttons)."""
        topup = await self.own(topup_id, user_id)
        return topup if topup is not None and topup.status is TopupStatus.PENDING else None

    # --- shared --------------------------------------------------------------------------------

    async def _by_payload(self, payload: str) -> Topup | None:
        if not payload.isdecimal() or not payload.isascii() or len(payload) > 18:
            return None
        return await self._store.get(int(payload))

    async def _credit(self, topup: Topup, charge_id: str) -> Credited:
        moved = await self._wallet.credit(
            topup.user_id,
            topup.amount,
            key=credit_key(topup.provider, charge_id),
            reference=reference(topup.id),
        )
        if not await self._store.settle(topup.id, TopupStatus.PAID, charge_id) and moved.fresh:
            log.error("top-up %s was paid again (charge %s): credited", topup.id, charge_id)
        settled = await self._store.get(topup.id) or topup
        credited = Credited(settled, topup.amount, moved.balance, moved.fresh)
        if moved.fresh and self._on_paid is not None:
            await self._on_paid(credited)
        return credited
