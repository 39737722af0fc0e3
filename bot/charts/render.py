"""A candlestick chart with a chat's alert levels, as PNG bytes, drawn with matplotlib's Agg.

Pure: bars and levels in, bytes out; run it off the event loop (it takes about a tenth of a
second). Only the Figure API is used, never pyplot, so no global state is shared between
calls and no GUI backend is ever chosen. The picture holds no words, only numbers, the time
zone's name (the chat's /timezone, "UTC" by default) and marks (▲ ▼ ✕) that DejaVu Sans
draws, so it reads the same in every language and no missing glyph can garble it; words (and
symbol names like 币安人生USDT, and notes) go in the caption.

Prices stay Decimal until they become pixel coordinates; every number printed in the picture
is formatted from the Decimal, at the symbol's own precision.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
from decimal import Decimal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from bot.charts.intervals import INTERVALS
from bot.charts.spec import Bar, ChartSpec, Level, Mark, bars_precision, format_price, precision_of
from bot.memory import settle_start_up

WIDTH, HEIGHT, DPI = 1280, 720, 100  # readable on a phone, and Telegram keeps it sharp

# One style: TradingView's candle colours on white; blue for rising alerts, orange for falling.
BACKGROUND, GRID, TEXT, MUTED = "#ffffff", "#eceff1", "#263238", "#78909c"
UP_CANDLE, DOWN_CANDLE = "#26a69a", "#ef5350"
RISING_ALERT, FALLING_ALERT, CROSSING = "#1e88e5", "#f57c00", "#8e24aa"

# Time-axis ticks: (step in seconds, label) per interval; labels are numbers, never month names.
_TICKS: dict[str, tuple[int, str]] = {
    "1m": (15 * 60, "time"), "5m": (3600, "time"), "15m": (3 * 3600, "time"),
    "1h": (12 * 3600, "day time"), "4h": (2 * 86_400, "day"), "1d": (14 * 86_400, "day"),
}
# Levels on the mark or index price (docs/futures.md): dotted, and "M" / "I" before the price in the label.
SOURCE_TAGS = {"mark": "M ", "index": "I "}
LEVEL_LINES = {"mark": (0, (1.2, 2.4)), "index": (0, (1.2, 2.4))}
INTERVAL_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400}
_RIGHT_ROOM = 15  # empty bars right of the last candle, where the alert labels go


def _local(ms: int, zone: ZoneInfo) -> datetime:
    """A bar's time on the chat's clock."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone(zone)


def _time_label(moment: datetime, style: str, first: bool) -> str:
    day = f"{moment.month:02d}-{moment.day:02d}"  # ISO order, as in 2026-01-15
    if style == "day":
        return day if moment.month != 1 or moment.day > 14 else f"{moment.year}-{day}"
    clock = f"{moment.hour:02d}:{moment.minute:02d}"
    if style == "day time" or first or (moment.hour, moment.minute) == (0, 0):
        return f"{day} {clock}"
    return clock


def _time_ticks(bars: Sequence[Bar], interval: str, zone: str = "UTC") -> tuple[list[int], list[str]]:
    """Bars that start at a round time (every 15 minutes, 12 hours, …) on the chat's clock, with their labels."""
    step, style = _TICKS[interval]
    where = ZoneInfo(zone)
    moments = [_local(bar.open_time, where) for bar in bars]
    if interval == "1d":  # months are not multiples of a step: the 1st and the 15th
        picked = [i for i, moment in enumerate(moments) if moment.day in (1, 15)]
    else:  # the bars holding a round time of the wall clock, whose offset (+01:00, +02:00 by season,
        # or +05:45, which no hourly bar starts on) counts
        length = INTERVAL_SECONDS[interval]
        local = [bar.open_time // 1000 + int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]
                 for bar, moment in zip(bars, moments)]
        picked = [i for i, start in enumerate(local) if -(-start // step) * step < start + length]
    labels = [_time_label(moments[i], style, n == 0) for n, i in enumerate(picked)]
    return picked, labels


def _view(spec: ChartSpec) -> tuple[float, float]:
    """The price range shown: the candles, plus levels and the crossing if they are near."""
    low = float(min(bar.low for bar in spec.bars))
    high = float(max(bar.high for bar in spec.bars))
    span = high - low or abs(high) * 0.01 or 1.0
    near = [float(level.price) for level in spec.levels]
    if spec.mark is not None and spec.mark.price is not None:
        near.append(float(spec.mark.price))
    for price in near:  # a level far away would squash the candles into a line: pin it instead
        if low - span * 0.6 <= price <= high + span * 0.6:
            low, high = min(low, price), max(high, price)
    pad = (high - low or span) * 0.06
    return low - pad, high + pad


def _spread(positions: list[float], gap: float) -> list[float]:
    """Moves label positions (axes fractions, sorted) apart by at least `gap`, inside 0..1."""
    placed = list(positions)
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    top = 1 - gap / 2
    for i in range(len(placed) - 1, -1, -1):
        limit = top if i == len(placed) - 1 else placed[i + 1] - gap
        placed[i] = min(placed[i], limit)
    return placed


def render_chart(spec: ChartSpec) -> bytes:
    """The chart as PNG bytes, WIDTH x HEIGHT pixels."""
    output = io.BytesIO()
    draw_chart(spec).savefig(output, format="png", dpi=DPI, facecolor=BACKGROUND)
    return output.getvalue()


def draw_chart(spec: ChartSpec) -> Figure:
    """The chart as a matplotlib Figure (render_chart makes the PNG of it)."""
    if not spec.bars:
        raise ValueError("a chart needs at least one bar")
    bars = spec.bars
    precision = bars_precision(bars)
    interval_ms = INTERVALS[spec.interval] * 1000

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.02, 0.085, 0.865, 0.85), facecolor=BACKGROUND)
    bottom, top = _view(spec)
    axes.set_ylim(bottom, top)
    axes.set_xlim(-1, len(bars) + _RIGHT_ROOM)

    # Candles: a wick from low to high, a body from open to close (at least a hair thick).
    xs = list(range(len(bars)))
    rising = [bar.close >= bar.open for bar in bars]
    colours = [UP_CANDLE if up else DOWN_CANDLE for up in rising]
    axes.add_collection(LineCollection(
        [((x, float(bar.low)), (x, float(bar.high))) for x, bar in zip(xs, bars)],
        colors=colours, linewidths=1.0, zorder=2))
    hair = (top - bottom) * 0.0015
    axes.bar(xs, [max(abs(float(bar.close - bar.open)), hair) for bar in bars],
             bottom=[float(min(bar.open, bar.close)) for bar in bars],
             width=0.62, color=colours, edgecolor=colours, linewidth=0.5, zorder=3)

    # Axes: prices on the right at the symbol's precision, times below (the chat's zone), a light grid.
    axes.yaxis.tick_right()
    axes.yaxis.set_major_locator(MaxNLocator(nbins=9, steps=[1, 2, 2.5, 5, 10]))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.{precision}f}"))
    ticks, labels = _time_ticks(bars, spec.interval, spec.zone)
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.set_xticklabels(labels)
    axes.set_xlabel(spec.zone, color=MUTED, fontsize=10)
    axes.tick_params(colors=TEXT, labelsize=11, length=0, pad=6)
    axes.grid(True, color=GRID, linewidth=0.8, zorder=0)
    for side in ("top", "left", "bottom", "right"):
        axes.spines[side].set_visible(side == "bottom")
    axes.spines["bottom"].set_color(GRID)
    header = f"{spec.symbol}  {spec.interval}" if spec.symbol.isascii() and spec.symbol.isprintable() else spec.interval
    figure.text(0.02, 0.955, header, color=TEXT, fontsize=17, fontweight="bold", va="center")

    # Alert levels: dashed lines, dotted on the mark or index price (labelled M / I, the caption
    # says so); labels at the right, spread apart so none hides another.
    to_axes = lambda price: (float(price) - bottom) / (top - bottom)  # noqa: E731
    labels_at: list[tuple[float, str, str]] = []
    for level in sorted(spec.levels, key=lambda item: item.price):
        colour = RISING_ALERT if level.rising else FALLING_ALERT
        text = SOURCE_TAGS.get(level.source, "") + f"{level.price:f}"
        text = f"#{level.alert_id} {text}" if level.alert_id is not None else text
        where = to_axes(level.price)
        if 0 <= where <= 1:
            axes.axhline(float(level.price), color=colour, linestyle=LEVEL_LINES.get(level.source, (0, (6, 4))),
                         linewidth=2.4 if level.highlight else 1.4, zorder=4)
        else:  # beyond the view: a label at the edge points to where it is
            text += " ▲" if where > 1 else " ▼"
        labels_at.append((min(max(where, 0.0), 1.0), text, colour))
    gap = 24 / (HEIGHT * 0.85)
    for (_, text, colour), where in zip(labels_at, _spread([w for w, _, _ in labels_at], gap)):
        axes.text(0.997, where, text, transform=axes.transAxes, ha="right", va="center", fontsize=10.5,
                  color="white", fontweight="bold", zorder=6,
                  bbox={"boxstyle": "round,pad=0.28", "facecolor": colour, "edgecolor": colour})

    # The latest price: a dotted line and a tag on the price axis, in the last candle's colour.
    last = bars[-1]
    colour = colours[-1]
    axes.axhline(float(last.close), color=colour, linestyle=(0, (1, 2)), linewidth=1.2, zorder=4)
    axes.annotate(format_price(last.close, precision), xy=(1, to_axes(last.close)), xycoords="axes fraction",
                  xytext=(3, 0), textcoords="offset points", ha="left", va="center", fontsize=11,
                  color="white", fontweight="bold", zorder=7, annotation_clip=False,
                  bbox={"boxstyle": "square,pad=0.3", "facecolor": colour, "edgecolor": colour})

    # The crossing a notification is about: a ring at the moment and price, or a line at the moment.
    if spec.mark is not None:
        x = (spec.mark.at_ms - bars[0].open_time) / interval_ms - 0.5
        if -0.5 <= x <= len(bars) + 0.5:
            if spec.mark.price is not None:
                y = float(spec.mark.price)
                axes.plot([x], [y], marker="o", markersize=13, markerfacecolor="none",
                          markeredgecolor=CROSSING, markeredgewidth=2.5, zorder=8)
                above = to_axes(spec.mark.price) < 0.8
                axes.annotate(f"✕ {format_price(spec.mark.price, max(precision, precision_of([spec.mark.price])))}", xy=(x, y), xytext=(-14, 26 if above else -26),
                              textcoords="offset points", ha="right", va="center", fontsize=11, color=CROSSING,
                              fontweight="bold", zorder=8,
                              bbox={"boxstyle": "round,pad=0.2", "facecolor": BACKGROUND, "edgecolor": "none",
                                    "alpha": 0.85},
                              arrowprops={"arrowstyle": "-", "color": CROSSING, "linewidth": 1.2})
            else:
                axes.axvline(x, color=CROSSING, linestyle=(0, (3, 3)), linewidth=1.4, zorder=4)
                axes.text(x, 0.98, " ✕", transform=axes.get_xaxis_transform(), color=CROSSING,
                          fontsize=11, fontweight="bold", va="top", zorder=8)
    return figure


def warm_up() -> None:
    """For a drawing process: draw once, so fonts and caches are loaded before the first chart,
    then freeze what is loaded (bot.memory.settle_start_up).

    Matplotlib leaves many objects behind at import; without gc.freeze() every few drawings a
    full garbage collection walks them all again, tripling that drawing's time.
    """
    hour = 3_600_000
    bars = tuple(Bar(i * hour, Decimal(100 + i % 3), Decimal(103), Decimal(99), Decimal(101)) for i in range(8))
    render_chart(ChartSpec("WARMUP", "1h", bars, (Level(Decimal(102), True, 1),), Mark(3 * hour, Decimal(102))))
    settle_start_up()
