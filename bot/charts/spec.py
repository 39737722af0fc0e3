"""What a chart shows: bars, levels, a crossing; and how its prices are written.

Plain data and Decimal arithmetic, without matplotlib: the bot's process builds ChartSpecs and
formats prices for captions, and only the drawing process (bot/charts/worker.py) imports
matplotlib, which with numpy weighs about 50 MiB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

MAX_PRECISION = 10  # the bot stores prices to 10 decimals


@dataclass(frozen=True)
class Bar:
    """One kline. Its own class, not bot.exchange.rest.Kline: unpickling a Kline would make the
    drawing process import the exchange client (httpx, websockets: about 8 MiB more)."""

    open_time: int  # ms, UTC
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass(frozen=True)
class Level:
    """An alert's level, drawn as a labelled horizontal line."""

    price: Decimal
    rising: bool
    alert_id: int | None = None
    highlight: bool = False  # the alert a notification is about
    source: str = "last"  # the price it watches (bot.sources): "mark" and "index" are drawn dotted, labelled M / I


@dataclass(frozen=True)
class Mark:
    """Where a notified alert crossed: a moment, and the price then when it is known."""

    at_ms: int
    price: Decimal | None = None


@dataclass(frozen=True)
class ChartSpec:
    """Everything one picture shows; pickled to the drawing process."""

    symbol: str
    interval: str
    bars: tuple[Bar, ...]
    levels: tuple[Level, ...] = ()
    mark: Mark | None = None
    zone: str = "UTC"  # the chat's /timezone (issue 25): the time axis is on its clock


def precision_of(values: Sequence[Decimal]) -> int:
    """Decimals as the exchange writes this symbol's prices ("65000.10" -> 2)."""
    decimals = [-value.as_tuple().exponent for value in values if value.is_finite()]  # type: ignore[operator]
    return min(max([0, *decimals]), MAX_PRECISION)


def format_price(value: Decimal, precision: int) -> str:
    """At exactly `precision` decimals, never in exponent form: 65000.1 at 2 -> "65000.10"."""
    return f"{value.quantize(Decimal(1).scaleb(-precision)):f}"


def bars_precision(bars: Sequence[Bar]) -> int:
    """The most decimals any of the bars' prices has: how the chart and its caption write prices."""
    return precision_of([value for bar in bars for value in (bar.open, bar.high, bar.low, bar.close)])
