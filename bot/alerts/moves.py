"""Moves within a time window (pump/dump alerts): "3 % either way within 15 minutes".

Pure: prices and times in, the largest move of each window out. For every watched symbol we
keep two monotonic deques over the longest window asked for: one whose prices rise from its
front (the window minimum is its first entry not older than the window), one whose prices fall
(the maximum likewise). Each tick adds one entry per deque and drops what the window left, so
memory is bounded by (longest window / poll interval) entries per watched symbol, and usually
far less: an entry stays only while no later price undercuts (or overtops) it; and never more
than MAX_ENTRIES_PER_SYMBOL.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

MIN_WINDOW = 60  # seconds
MAX_WINDOW = 24 * 3600
# Entries kept per symbol (both deques), about 200 bytes each: 2 MB at most. Only a day-long
# trend without a single pullback reaches it; then the older half of a deque is thinned to every
# other entry, which can only make a window's edge a little later, never invent a move.
MAX_ENTRIES_PER_SYMBOL = 10_000


@dataclass(frozen=True)
class Move:
    percent: Decimal  # the larger of the rise from the window's low and the fall from its high, >= 0
    reference: Decimal  # the low (after a rise) or the high (after a fall) it is measured from
    rising: bool


@dataclass
class _History:
    span: int  # seconds kept: the longest window watched on this symbol
    lows: deque[tuple[float, Decimal]] = field(default_factory=deque)  # prices rise front to back
    highs: deque[tuple[float, Decimal]] = field(default_factory=deque)  # prices fall front to back

    def add(self, now: float, price: Decimal) -> None:
        while self.lows and self.lows[-1][1] >= price:
            self.lows.pop()
        self.lows.append((now, price))
        while self.highs and self.highs[-1][1] <= price:
            self.highs.pop()
        self.highs.append((now, price))
        for entries in (self.lows, self.highs):
            while entries and entries[0][0] < now - self.span:
                entries.popleft()
        if len(self.lows) > MAX_ENTRIES_PER_SYMBOL // 2:
            self.lows = _thinned(self.lows)
        if len(self.highs) > MAX_ENTRIES_PER_SYMBOL // 2:
            self.highs = _thinned(self.highs)

    @staticmethod
    def _first_since(entries: deque[tuple[float, Decimal]], since: float) -> Decimal:
        times = [t for t, _ in entries]  # short in practice; see the module docstring
        return entries[bisect.bisect_left(times, since)][1]

    def move(self, now: float, window: int, price: Decimal) -> Move:
        low = self._first_since(self.lows, now - window)
        high = self._first_since(self.highs, now - window)
        rise = (price - low) * 100 / low
        fall = (high - price) * 100 / high
        if rise >= fall:
            return Move(rise, low, True)
        return Move(fall, high, False)


def _thinned(entries: deque[tuple[float, Decimal]]) -> deque[tuple[float, Decimal]]:
    """Every other entry of the older half (its first, the extreme of the whole span, stays), all of the newer."""
    half = len(entries) // 2
    older = list(itertools.islice(entries, 0, half, 2))
    return deque(older + list(itertools.islice(entries, half, None)))


class MoveTracker:
    def __init__(self) -> None:
        self._histories: dict[str, _History] = {}

    def watch(self, windows: Iterable[tuple[str, int]]) -> None:
        """The (symbol, window) pairs that alerts ask for; other symbols are forgotten."""
        spans: dict[str, int] = {}
        for symbol, window in windows:
            spans[symbol] = max(spans.get(symbol, 0), window)
        self._histories = {
            symbol: self._histories.get(symbol) or _History(span)
            for symbol, span in spans.items()
        }
        for symbol, span in spans.items():
            self._histories[symbol].span = span

    def observe(self, now: float, prices: Mapping[str, Decimal], windows: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Move]:
        """Adds this tick's prices, and returns the move of each watched window that has a price now."""
        for symbol, history in self._histories.items():
            if symbol in prices:
                history.add(now, prices[symbol])
        moves = {}
        for symbol, window in windows:
            history = self._histories.get(symbol)
            if history is not None and symbol in prices and history.lows:
                moves[(symbol, window)] = history.move(now, window, prices[symbol])
        return moves

    def size(self) -> int:
        """Entries held, for /stats and the tests of the memory bound."""
        return sum(len(h.lows) + len(h.highs) for h in self._histories.values())
