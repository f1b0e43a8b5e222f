"""Top-up texts in every language: Telegram's bounds for Stars invoices, escaped charge IDs,
a text for every refusal and every refund outcome."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.i18n import CatalogI18n, build_i18n, format_money
from bot.services.topups import CheckoutRefusal, Refund, RefundOutcome
from bot.storage.topups import Provider, Topup, TopupStatus
from bot.views import topups as views
from bot.views.markup import MESSAGE_LIMIT, visible_length

LOCALES = Path(__file__).resolve().parents[2] / "locales"
LANGUAGES = ["en", "ru", "ja"]
TOPUP = Topup(1, 101, Provider.STARS, 1000, 500, TopupStatus.PAID, "c", None, 0.0, None)


def usd(minor: int) -> str:
    return format_money(Decimal(minor).scaleb(-2), "USD")


@pytest.fixture(scope="module")
def i18n() -> CatalogI18n:
    return build_i18n(LOCALES, "en")


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest, i18n: CatalogI18n) -> Iterator[str]:
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def test_stars_invoice_texts_fit_telegrams_bounds(language: str) -> None:
    assert 1 <= len(views.stars_title()) <= views.INVOICE_TITLE_CHARS
    biggest = views.stars_description("1 000 000 000 000,00 $" * 20)
    assert 1 <= len(biggest) <= views.INVOICE_DESCRIPTION_CHARS
    assert views.stars_price_label()


def test_every_refusal_and_provider_has_a_text(language: str) -> None:
    texts = [views.checkout_refusal(r) for r in CheckoutRefusal]
    texts += [views.provider_label(p) for p in Provider]
    assert all(texts) and len(set(texts)) == len(texts)
    if language != "en":
        assert views.checkout_refusal(CheckoutRefusal.PAID) != "This invoice has been paid already."


@pytest.mark.parametrize("outcome", list(RefundOutcome))
def test_refund_outcomes_escape_the_charge_id(language: str, outcome: RefundOutcome) -> None:
    forged = "<b>x</b>&" + "9" * 500
    text = views.refund_outcome(usd, forged, Refund(outcome, TOPUP, 250))
    assert "<b>x" not in text and "&lt;b&gt;x" in text
    assert visible_length(text) <= MESSAGE_LIMIT


def test_amount_texts(language: str) -> None:
    assert usd(1000) in views.receipt(usd, 1000, 2500)
    assert usd(2500) in views.receipt(usd, 1000, 2500)
    assert usd(100) in views.ask_amount(usd, 100, 100000)
    invoice = views.crypto_invoice(usd, 1000, ["USDT", "TON"], 60)
    assert "USDT, TON" in invoice and "60" in invoice
