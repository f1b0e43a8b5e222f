"""The 30-day chart as a PNG: orders a day as bars, sales a day as a line.

Only dates and numbers are drawn (the caption, translated, says which is which): matplotlib's
bundled font has no Japanese glyphs. matplotlib with its Agg backend draws to memory without a
display, in a worker thread (a drawing takes a few hundred milliseconds: too long for the loop).
"""

from __future__ import annotations

import asyncio
import io

from bot.services.stats import Day


def _draw(days: list[Day]) -> bytes:
    # Imported at the first chart, in the drawing thread: matplotlib and numpy are 80 MB and
    # two seconds at every start of a bot whose admins may never ask for /stats.
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib.figure import Figure

    # Figure, not pyplot: no global state shared between threads.
    figure = Figure(figsize=(9, 4.5), dpi=100)
    axes = figure.add_subplot()
    labels = [day.day.strftime("%m-%d") for day in days]
    axes.bar(labels, [day.orders for day in days], color="#4c8bf5")
    axes.tick_params(axis="x", labelrotation=60, labelsize=7)
    sales_axes = axes.twinx()
    sales_axes.plot(labels, [float(day.sales) for day in days], color="#e8710a", marker="o")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def render_chart(days: list[Day]) -> bytes:
    return await asyncio.to_thread(_draw, days)
