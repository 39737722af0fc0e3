"""When an alert fires. The database applies the same rule through an index (storage.store)."""

from __future__ import annotations

import enum
from decimal import Decimal


class Direction(str, enum.Enum):
    """Which way the price must move to reach the level."""

    UP = "up"  # fires when price >= level
    DOWN = "down"  # fires when price <= level


def direction_for(level: Decimal, current_price: Decimal) -> Direction:
    """Below the level the alert waits for a rise; at or above it, for a fall."""
    return Direction.UP if current_price < level else Direction.DOWN


def crossed(direction: Direction, level: Decimal, price: Decimal) -> bool:
    if direction is Direction.UP:
        return price >= level
    return price <= level


def distance_percent(level: Decimal, price: Decimal) -> Decimal:
    """How far the level is from the price, in % of the price, signed (+ means above)."""
    return ((level - price) * 100 / price).quantize(Decimal("0.01"))
