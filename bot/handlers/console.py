"""Admins: maintenance mode and the 30-day chart of orders and sales."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.i18n import _, format_number
from bot.services.maintenance import Maintenance
from bot.services.stats import DAYS, daily, first_day
from bot.storage.console import OrderStats
from bot.views.chart import render_chart
from bot.views.markup import fit

CAPTION_LIMIT = 1024


async def maintenance_switch(
    message: Message, command: CommandObject, maintenance: Maintenance
) -> None:
    argument = (command.args or "").strip().lower()
    if argument not in ("on", "off"):
        state = _("on") if await maintenance.is_on() else _("off")
        await message.answer(
            _("Maintenance is {state}. Usage: /maintenance on or /maintenance off").format(
                state=state
            )
        )
        return
    await maintenance.switch(argument == "on")
    if argument == "on":
        text = _(
            "Maintenance is on: customers see a short notice instead of the catalogue and ordering."
        )
    else:
        text = _("Maintenance is off: the shop is open again.")
    await message.answer(text)


async def stats(message: Message, order_stats: OrderStats) -> None:
    today = datetime.now(UTC).date()
    since = datetime.combine(first_day(today), datetime.min.time(), UTC).timestamp()
    days = daily(await order_stats.placed_since(since), today)
    chart = await render_chart(days)
    total_orders = sum(day.orders for day in days)
    total_sales = sum((day.sales for day in days), start=Decimal(0))
    caption = _(
        "<b>Last {days} days</b> (UTC): {orders} orders, {sales} in sales.\n"
        "Bars: orders a day; line: sales a day."
    ).format(days=DAYS, orders=format_number(total_orders), sales=format_number(total_sales))
    await message.answer_photo(
        BufferedInputFile(chart, "stats.png"), caption=fit(caption, CAPTION_LIMIT)
    )
    lines = [_("<b>Orders and sales a day</b>")]
    lines += [
        _("{day}: {orders} orders, {sales}").format(
            day=day.day.isoformat(),
            orders=format_number(day.orders),
            sales=format_number(day.sales),
        )
        for day in days
        if day.orders
    ] or [_("No orders were placed in these days.")]
    await message.answer(fit("\n".join(lines)))


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only. Admins only: the
    factory includes it in the admin router."""
    router = Router(name="console")
    router.message(Command("maintenance"))(maintenance_switch)
    router.message(Command("stats"))(stats)
    return router
