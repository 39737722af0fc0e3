"""The chart intervals users may ask for, and which one shows a moment in the past."""

from __future__ import annotations

from collections.abc import Sequence

from bot.symbols import normalize_symbol

# Binance's own names (shared/binance-streams.md lists more; these cover a minute to a year).
INTERVALS: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400}
DEFAULT_INTERVAL = "1h"
BARS = 96  # under 100, so a klines request weighs 1 (binance-streams.md, "Weight by limit")


def parse_interval(text: str) -> str | None:
    """"1H", "15M", "1d" -> Binance's spelling; None when it is not one we offer.

    Binance's intervals are case-sensitive ("1M" is a month); ours have no month, so a user's
    "1H" or "15M" can only mean hours or minutes.
    """
    interval = text.strip().lower()
    return interval if interval in INTERVALS else None


def interval_showing(age_seconds: float) -> str:
    """The shortest interval whose 96 bars still show a moment `age_seconds` ago, with some
    bars after it (a quarter of the chart) so the move that followed is visible too."""
    for name, seconds in INTERVALS.items():
        if max(age_seconds, 0) <= seconds * BARS * 3 / 4:
            return name
    return "1d"


class ChartUsage(ValueError):
    """`/chart` was not asked right: `reason` is "usage", "symbol" or "interval"."""

    def __init__(self, reason: str, value: str = "") -> None:
        super().__init__(reason, value)
        self.reason, self.value = reason, value


def parse_chart_args(args: Sequence[str]) -> tuple[str, str]:
    """`/chart SYMBOL [INTERVAL]` (either order) -> (symbol, interval)."""
    if not args or len(args) > 2:
        raise ChartUsage("usage")
    words = list(args)
    if len(words) == 2 and parse_interval(words[0]) is not None and parse_interval(words[1]) is None:
        words.reverse()  # "/chart 4h BTCUSDT" means the same
    symbol = normalize_symbol(words[0])
    if symbol is None:
        raise ChartUsage("symbol", words[0])
    interval = parse_interval(words[1]) if len(words) == 2 else DEFAULT_INTERVAL
    if interval is None:
        raise ChartUsage("interval", words[1])
    return symbol, interval
