"""The highest and lowest price traded since the previous tick, from 1-minute kline updates.

Pure: kline updates in (bar start, running high and low of that bar, when we saw it), the
extremes of each check interval out. A kline's `h`/`l` cover the whole minute, including trades
made before we subscribed, so the first update of a bar after (re)subscribing is a baseline and
tells nothing new. After it, news is the high rising (or the low falling) between two updates of
the same bar, or the values of a new bar. A trade that neither raises its minute's high nor lowers
its low is not seen: it touched nothing the minute had not touched already (the last price from
`ticker.price` still covers the present).
"""

from __future__ import annotations

from decimal import Decimal

from bot.crossing import Extremes


class _Bar:
    """The latest update of a symbol's current bar, kept as the exchange's strings (cheap to compare)."""

    __slots__ = ("start", "high_text", "low_text", "high", "low")

    def __init__(self, start: int, high_text: str, low_text: str) -> None:
        self.start = start
        self.high_text, self.low_text = high_text, low_text
        self.high, self.low = Decimal(high_text), Decimal(low_text)


class _Interval:
    """Suffix maxima of the highs seen (and minima of the lows): a later, higher high makes the
    earlier ones irrelevant to every alert, whenever it was armed. Short in practice."""

    __slots__ = ("highs", "lows")

    def __init__(self) -> None:
        self.highs: list[tuple[Decimal, float]] = []
        self.lows: list[tuple[Decimal, float]] = []

    def raise_high(self, price: Decimal, at: float) -> None:
        while self.highs and self.highs[-1][0] <= price:
            self.highs.pop()
        self.highs.append((price, at))

    def lower_low(self, price: Decimal, at: float) -> None:
        while self.lows and self.lows[-1][0] >= price:
            self.lows.pop()
        self.lows.append((price, at))

    def extremes(self) -> Extremes:
        high, high_at = self.highs[0] if self.highs else (None, None)
        low, low_at = self.lows[0] if self.lows else (None, None)
        return Extremes(high, high_at, low, low_at, tuple(self.highs), tuple(self.lows))


class ExtremesTracker:
    def __init__(self) -> None:
        self._bars: dict[str, _Bar] = {}
        self._interval: dict[str, _Interval] = {}

    def baseline(self, symbol: str) -> None:
        """(Re)subscribed: the next update's high and low may be older than the subscription."""
        self._bars.pop(symbol, None)

    def forget(self, symbol: str) -> None:
        """No longer watched: nothing of it is kept or reported."""
        self._bars.pop(symbol, None)
        self._interval.pop(symbol, None)

    def update(self, symbol: str, bar_start: int, high: str, low: str, seen_at: float) -> None:
        """One kline update: `bar_start` is the bar's `t` (ms), `high`/`low` its `h`/`l` strings."""
        bar = self._bars.get(symbol)
        if bar is None:  # the baseline
            self._bars[symbol] = _Bar(bar_start, high, low)
            return
        if bar_start != bar.start:
            if bar_start < bar.start:
                return  # a late update of an older bar: its extremes were reported or were baseline
            bar = _Bar(bar_start, high, low)
            self._bars[symbol] = bar
            interval = self._interval_of(symbol)
            interval.raise_high(bar.high, seen_at)
            interval.lower_low(bar.low, seen_at)
            return
        if high != bar.high_text:  # the common case, an update that moved neither, costs two string compares
            price = Decimal(high)
            if price > bar.high:
                self._interval_of(symbol).raise_high(price, seen_at)
            bar.high_text, bar.high = high, price
        if low != bar.low_text:
            price = Decimal(low)
            if price < bar.low:
                self._interval_of(symbol).lower_low(price, seen_at)
            bar.low_text, bar.low = low, price

    def _interval_of(self, symbol: str) -> _Interval:
        interval = self._interval.get(symbol)
        if interval is None:
            interval = self._interval[symbol] = _Interval()
        return interval

    def give_back(self, taken: dict[str, Extremes]) -> None:
        """A tick that took these extremes failed before it could use them: they join the
        interval again, before what was seen since, so the next tick still sees those wicks."""
        for symbol, old in taken.items():
            merged, current = _Interval(), self._interval.get(symbol)
            for price, at in [*old.highs, *(current.highs if current else [])]:
                merged.raise_high(price, at)
            for price, at in [*old.lows, *(current.lows if current else [])]:
                merged.lower_low(price, at)
            self._interval[symbol] = merged

    def take(self) -> dict[str, Extremes]:
        """The extremes seen since the previous call, by symbol (only symbols with news); starts a new interval."""
        taken, self._interval = self._interval, {}
        return {symbol: interval.extremes() for symbol, interval in taken.items()}
