"""What storage and the domain both speak of: which way an alert waits, the crossing rule, and
the wicks seen between two checks. Below both, so that neither imports the other for it."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import NamedTuple


class Direction(str, enum.Enum):
    """Which way the price must move to reach the level."""

    UP = "up"  # fires when price >= level
    DOWN = "down"  # fires when price <= level
    EITHER = "either"  # a move alert: fires when the price moved `level` % within its window (alerts.moves)


LEVEL_DIRECTIONS = (Direction.UP, Direction.DOWN)  # the ones a price level fires


def crossed(direction: Direction, level: Decimal, price: Decimal) -> bool:
    if direction is Direction.UP:
        return price >= level
    return price <= level


class Extremes(NamedTuple):
    """One symbol's extremes within one check interval; a side is None when nothing new was seen.

    `highs` answers "the highest price seen at or after time A" for an alert armed at A within
    the interval: (price, seen at) pairs, later ones lower (a suffix maximum each); `highs[0]` is
    (high, high_at). `lows` likewise, later ones higher.
    """

    high: Decimal | None
    high_at: float | None  # epoch seconds when the high was first seen
    low: Decimal | None
    low_at: float | None
    highs: tuple[tuple[Decimal, float], ...] = ()
    lows: tuple[tuple[Decimal, float], ...] = ()

    def high_since(self, armed_at: float) -> Decimal | None:
        """The highest price seen at or after `armed_at` in this interval."""
        return next((price for price, at in self.highs if at >= armed_at), None)

    def low_since(self, armed_at: float) -> Decimal | None:
        return next((price for price, at in self.lows if at >= armed_at), None)
