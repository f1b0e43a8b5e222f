"""How top-ups read, in the reader's language (HTML): the choices, the invoices, the receipt,
the reasons a payment is refused, and the admins' refund answers.

Amounts come in as minor units and are shown by `fmt` (the shop's money formatter), so this
module needs nothing of the shop but that function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from bot.i18n import _, __
from bot.services.topups import CheckoutRefusal, OutsideRefund, Refund, RefundOutcome
from bot.storage.topups import Provider

Money = Callable[[int], str]

# Telegram's bounds for a Stars invoice.
INVOICE_TITLE_CHARS = 32
INVOICE_DESCRIPTION_CHARS = 255

PROVIDER_LABELS = {
    Provider.STARS: __("⭐ Telegram Stars"),
    Provider.CRYPTOPAY: __("💎 Crypto (Crypto Pay)"),
}

CHECKOUT_REFUSALS = {
    CheckoutRefusal.UNKNOWN: __("This invoice is no longer valid. Start a new top-up with /topup."),
    CheckoutRefusal.NOT_SERVED: __("Sorry, this bot no longer serves you."),
    CheckoutRefusal.NOT_YOURS: __("This invoice was made for someone else."),
    CheckoutRefusal.PAID: __("This invoice has been paid already."),
    CheckoutRefusal.EXPIRED: __("This invoice has expired. Start a new top-up with /topup."),
    CheckoutRefusal.MISMATCH: __(
        "This invoice does not match its top-up. Start a new top-up with /topup."
    ),
}


def choose_provider() -> str:
    return _("How would you like to top up your wallet?")


def provider_label(provider: Provider) -> str:
    return str(PROVIDER_LABELS[provider])


def choose_amount() -> str:
    return _("How much would you like to add to your wallet?")


def other_amount_label() -> str:
    return _("Other amount")


def ask_amount(fmt: Money, least: int, most: int) -> str:
    return _("Send the amount, from {least} to {most}.").format(least=fmt(least), most=fmt(most))


def bad_amount(fmt: Money, least: int, most: int) -> str:
    return _(
        "That is not an amount from {least} to {most}. Send a number such as 15 or 12.50."
    ).format(least=fmt(least), most=fmt(most))


def none_available() -> str:
    return _("Top-ups are not available here. Please write to the shop's admin.")


def stars_title() -> str:
    """The Stars invoice's title (plain text, at most 32 characters)."""
    return _("Wallet top-up")[:INVOICE_TITLE_CHARS]


def stars_description(plain_amount: str) -> str:
    """The Stars invoice's description (plain text: Telegram shows it as written)."""
    text = _("{amount} for your wallet in the bot.").format(amount=plain_amount)
    return text[:INVOICE_DESCRIPTION_CHARS]


def stars_price_label() -> str:
    return _("Top-up")


def crypto_invoice(fmt: Money, amount: int, assets: Sequence[str], minutes: int) -> str:
    return _(
        "Pay {amount} in {assets} within {minutes} min. Your wallet is credited as soon as "
        "the payment arrives."
    ).format(amount=fmt(amount), assets=escape(", ".join(assets)), minutes=minutes)


def pay_button(plain_amount: str) -> str:
    return _("Pay {amount}").format(amount=plain_amount)


def check_button() -> str:
    return _("I have paid")


def not_paid_yet() -> str:
    return _("Not paid yet. Your wallet is credited as soon as the payment arrives.")


def expired() -> str:
    return _("This invoice has expired. Start a new top-up with /topup.")


def crypto_unavailable() -> str:
    return _(
        "Crypto Pay is not answering right now. Nothing was charged; please try again in a minute."
    )


def receipt(fmt: Money, amount: int, balance: int) -> str:
    return _("✅ {amount} was added to your wallet. Balance: {balance}.").format(
        amount=fmt(amount), balance=fmt(balance)
    )


def already_credited(fmt: Money, balance: int) -> str:
    return _("This payment is already in your wallet. Balance: {balance}.").format(
        balance=fmt(balance)
    )


def checkout_refusal(refusal: CheckoutRefusal) -> str:
    """Plain text: Telegram shows a pre-checkout's error message as written."""
    return str(CHECKOUT_REFUSALS[refusal])


def refund_usage() -> str:
    return _("Usage: /refund_stars CHARGE_ID")


def refund_outcome(fmt: Money, charge_id: str, refund: Refund) -> str:
    charge = f"<code>{escape(charge_id[:100])}</code>"
    balance = fmt(refund.balance) if refund.balance is not None else ""
    amount = fmt(refund.topup.amount) if refund.topup is not None else ""
    texts = {
        RefundOutcome.REFUNDED: _(
            "Refunded {charge}: {amount} taken from the wallet, the Stars went back. "
            "Balance: {balance}."
        ),
        RefundOutcome.UNKNOWN_CHARGE: _("No Stars payment has the charge ID {charge}."),
        RefundOutcome.NOT_PAID: _("{charge} is refunded already, or a refund of it is under way."),
        RefundOutcome.SPENT: _(
            "Not refunded: {amount} of {charge} is no longer in the wallet (balance {balance})."
        ),
        RefundOutcome.REFUSED: _(
            "Telegram refused to refund {charge}; the wallet got its {amount} back. "
            "Balance: {balance}."
        ),
        RefundOutcome.UNCERTAIN: _(
            "Telegram's answer about {charge} was lost: {amount} stays taken from the wallet and "
            "the refund is not asked again. Check the payment before doing anything else."
        ),
    }
    return texts[refund.outcome].format(charge=charge, amount=amount, balance=balance)


def refunded_outside(fmt: Money, outside: OutsideRefund) -> str:
    """To the admins: Stars refunded without /refund_stars (by Telegram's support)."""
    charge = f"<code>{escape((outside.topup.charge_id or '')[:100])}</code>"
    return _(
        "Telegram refunded the Stars of {charge} (user <code>{user}</code>) outside the bot: "
        "{taken} was taken back from the wallet, {spent} had been spent already and is lost. "
        "Balance: {balance}."
    ).format(
        charge=charge,
        user=outside.topup.user_id,
        taken=fmt(outside.taken),
        spent=fmt(outside.spent),
        balance=fmt(outside.balance),
    )
