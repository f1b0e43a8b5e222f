"""Top-ups at their edges, end to end through the fake Bot API and the Crypto Pay simulator:
a pre-checkout while the payer's other update hangs on the panel, expired Crypto Pay invoices
and their buttons, typed amounts that are not amounts, a refund made outside the bot, and a
restart between the invoice and the payment. The ledger's audit is clean after each."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot.sandbox.simulator import PanelSimulator
from tests.bot.harness import ALICE, running
from tests.fakes.telegram import FakeTelegram
from tests.panel.hostile import serving
from tests.shop.test_topup_journeys import SHOP, balance, invoice, sound

CATALOGUE = json.dumps(
    [{"service": 1, "name": "Followers", "type": "Default", "category": "Instagram",
      "rate": "0.9", "min": 10, "max": 1000}]
)  # fmt: skip


# --- a pre-checkout never waits behind the payer's slow update -------------------------------


async def test_a_pre_checkout_is_answered_while_the_payers_other_update_hangs(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram
) -> None:
    async with serving() as panel:
        panel.answer("services", CATALOGUE)
        hanging = {
            **SHOP,
            "panel_url": panel.url,
            "panel_timeout_seconds": 30,
            "panel_interactive_deadline_seconds": 30,
            "catalog_ttl_seconds": 0,
        }
        async with running(tmp_path, sim, tg, **hanging) as h:
            sent = await invoice(h)
            panel.hang("services")
            h.tg.send_text(ALICE, "/new")  # Alice's catalogue waits on the panel…
            await asyncio.wait_for(panel.hung.wait(), 10)
            # …and her payment's pre-checkout is answered meanwhile, not after it.
            checkout = await h.tg.payments.pay(ALICE, sent.message_id)
            assert checkout.ok, checkout
            assert panel.hung.is_set() and not any("Instagram" in t for t in h.texts(ALICE))
            panel.release()
            await h.settle()
            # The payment's message came after /new and was handled after it, once.
            assert sum("10.00 USD was added" in t for t in h.texts(ALICE)) == 1
            assert await balance(h) == 1000
            await sound(h)
