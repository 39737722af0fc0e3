"""When an alert fires. The database applies the same rule through an index (storage.store)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from bot.crossing import LEVEL_DIRECTIONS, Direction, crossed

__all__ = [  # Direction and crossed live below storage and the domain, which both apply them
    "DEFAULT_MARGIN", "FAR_FACTOR", "LEVEL_DIRECTIONS", "Direction", "crossed", "direction_for", "distance_percent",
    "has_gone_back", "level_from_percent", "needs_confirmation", "rearm_level", "rearm_threshold",
]


def direction_for(level: Decimal, current_price: Decimal) -> Direction:
    """Below the level the alert waits for a rise; at or above it, for a fall."""
    return Direction.UP if current_price < level else Direction.DOWN


FAR_FACTOR = 10  # a level this many times away from the price, either way, is asked about first


def needs_confirmation(level: Decimal, current: Decimal) -> bool:
    """`0,130` read as 130 for a coin at 0.12: nobody means a level 10x away without saying so."""
    return level > current * FAR_FACTOR or level * FAR_FACTOR < current


def distance_percent(level: Decimal, price: Decimal) -> Decimal:
    """How far the level is from the price, in % of the price, signed (+ means above)."""
    return ((level - price) * 100 / price).quantize(Decimal("0.01"))


DEFAULT_MARGIN = Decimal("0.5")  # % the price must go back past the level before a repeat re-arms
_STORED_STEP = Decimal("1e-10")  # the finest step the database keeps (storage.types)


def level_from_percent(current: Decimal, percent: Decimal) -> Decimal:
    """`+5%` of 64000.10 is 67200.11: the move, rounded to the price's own step."""
    step = Decimal(1).scaleb(current.as_tuple().exponent)  # type: ignore[arg-type]
    return (current * (1 + percent / 100)).quantize(step, rounding=ROUND_HALF_EVEN)


def rearm_level(direction: Direction, level: Decimal, margin: Decimal) -> Decimal:
    """Where the price must go back to before a repeating alert may fire again (hysteresis).

    Without it, a price hovering at the level would fire on every tick.
    """
    factor = 1 - margin / 100 if direction is Direction.UP else 1 + margin / 100
    return (level * factor).quantize(_STORED_STEP, rounding=ROUND_HALF_EVEN).normalize()


def has_gone_back(direction: Direction, rearm_at: Decimal, price: Decimal) -> bool:
    return price <= rearm_at if direction is Direction.UP else price >= rearm_at


def rearm_threshold(direction: Direction, level: Decimal, current: Decimal | None) -> Decimal | None:
    """Re-arm pressed on a fired alert: None when the price is on the waiting side (armed at
    once); else the price it must go back strictly past first, so that the alert fires on the
    next crossing and never twice for one: the level with the default margin while the price is
    still past the level, the level itself when the price is unknown. A move alert has no
    level to be past: it is armed at once."""
    if direction not in LEVEL_DIRECTIONS:
        return None
    if current is None:
        return level
    if crossed(direction, level, current):
        return rearm_level(direction, level, DEFAULT_MARGIN)
    return None
