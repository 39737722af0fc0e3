"""Symbols that stop trading: a delivery contract settles, a symbol is delisted.

The all-symbol `ticker.price` answer is the authority for which symbols exist. A watched symbol
absent from it for `after` seconds is gone; one that comes back within that time changes nothing.
An answer that lacks most symbols (a partial or broken answer) ends nothing. Pure: time is given.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection

PARTIAL_SHARE = 0.5  # an answer with fewer than half the symbols of recent full answers is partial
RECENT_ANSWERS = 100  # how many full answers that reference looks back over


class GoneSymbols:
    def __init__(self, after: float) -> None:
        self._after = after
        self._missing_since: dict[str, float] = {}  # watched symbols only: bounded by what alerts watch
        self._recent_sizes: deque[int] = deque(maxlen=RECENT_ANSWERS)

    def observe(self, now: float, listed: Collection[str], watched: Collection[str]) -> list[str]:
        """The watched symbols that have now been missing for `after` seconds, sorted."""
        if self._recent_sizes and len(listed) < max(self._recent_sizes) * PARTIAL_SHARE:
            return []  # a partial answer: it proves nothing about the symbols it lacks
        self._recent_sizes.append(len(listed))
        gone = []
        for symbol in watched:
            if symbol in listed:
                self._missing_since.pop(symbol, None)
                continue
            since = self._missing_since.setdefault(symbol, now)
            if now - since >= self._after:
                gone.append(symbol)
        for symbol in [s for s in self._missing_since if s not in watched]:
            del self._missing_since[symbol]  # its alerts ended or were deleted
        return sorted(gone)
