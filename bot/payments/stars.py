"""Telegram Stars facts the settings and the top-ups share."""

from __future__ import annotations

# The currency code of Telegram Stars in invoices and payments.
STARS_CURRENCY = "XTR"

# The most one Stars invoice may ask (Bot API, sendInvoice: prices in XTR).
MAX_STARS = 10_000
