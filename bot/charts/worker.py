"""What the drawing process runs, given by reference to a ProcessPoolExecutor.

These two functions import bot.charts.render (matplotlib, numpy and OpenBLAS's thread: about
50 MiB) when the drawing process first calls them, so the bot's own process, which only pickles
a reference to them, never loads matplotlib.
"""

from __future__ import annotations

from bot.charts.spec import ChartSpec


def draw(spec: ChartSpec) -> bytes:
    from bot.charts.render import render_chart

    return render_chart(spec)


def start() -> None:
    """The drawing process's initializer: one drawing to load fonts and caches (see warm_up)."""
    from bot.charts.render import warm_up

    warm_up()
