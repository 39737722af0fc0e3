"""What a request for alerts makes, before anything is stored: each alert's direction and level,
its row's values, and the reasons a request is refused (facts the handlers word)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot.alerts.commands import AlertRequest
from bot.alerts.rules import (
    DEFAULT_MARGIN, LEVEL_DIRECTIONS, Direction, crossed, direction_for, level_from_percent, rearm_level,
)
from bot.storage.models import Alert
from bot.storage.store import utcnow


class UnknownSymbol(Exception):
    def __init__(self, symbol: str, suggestions: list[str]) -> None:
        super().__init__(symbol)
        self.symbol, self.suggestions = symbol, suggestions


class TooManyAlerts(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class FarLevel(Exception):
    """A level more than 10x away from the price: created only after the user confirms it."""

    def __init__(self, level: Decimal, current: Decimal) -> None:
        super().__init__(level, current)
        self.level, self.current = level, current


class PastExpiry(Exception):
    """`until` a moment that has already passed."""


LIQ_REPEAT_SECONDS = 60  # a /liq step's cooldown after the mark moved away by the margin


class NoFunding(Exception):
    """A funding alert on a symbol without funding (a delivery contract)."""

    def __init__(self, symbol: str) -> None:
        super().__init__(symbol)
        self.symbol = symbol


class NoMarkPrice(Exception):
    """A mark or index alert, and no fresh mark price for its symbol (the stream and its fallback failed)."""

    def __init__(self, symbol: str) -> None:
        super().__init__(symbol)
        self.symbol = symbol


class NotALevelAlert(Exception):
    """A move alert (`3% 15m`) has no price level to move, nor a funding reminder (`reminder`: its
    level is a lead in seconds, which `/edit`'s prices cannot say): each is deleted and created again."""

    def __init__(self, alert_id: int, reminder: bool = False) -> None:
        super().__init__(alert_id)
        self.alert_id, self.reminder = alert_id, reminder


@dataclass(frozen=True)
class Edited:
    """An edit's facts: the alert as it is now, the price it was decided from, and whether its
    level is already passed (it then waits for a new crossing)."""

    alert: Alert
    current: Decimal
    passed: bool


def alert_targets(request: AlertRequest, current: Decimal) -> list[tuple[Direction, Decimal]]:
    """(direction, level) of each alert a request makes: from the level, or a % of the price."""
    if request.percent is None:
        assert request.level is not None  # a price level, or the % of a move alert (Direction.EITHER)
        return [(request.direction or direction_for(request.level, current), request.level)]
    moves = [request.percent, -request.percent] if request.both_ways else [request.percent]
    return [(Direction.UP if move > 0 else Direction.DOWN, level_from_percent(current, move)) for move in moves]


def alert_specs(request: AlertRequest, current: Decimal,
                targets: Sequence[tuple[Direction, Decimal]], thread_id: int | None = None) -> list[dict[str, object]]:
    """The arguments of AlertStore.create_alert for each target of a request (raises PastExpiry)."""
    expires_at = expiry(request.expires)
    repeat_seconds = int(request.repeat.total_seconds()) if request.repeat else None
    window_seconds = int(request.window.total_seconds()) if request.window else None
    specs = []
    for direction, level in targets:
        rearm = (rearm_level(direction, level, request.margin or DEFAULT_MARGIN)
                 if request.repeat and direction in LEVEL_DIRECTIONS else None)
        # An explicit direction whose level is already passed waits for the price to come back:
        # an alert fires on a crossing, never because the price already was past its level.
        passed = direction in LEVEL_DIRECTIONS and crossed(direction, level, current)
        specs.append({
            "symbol": request.symbol, "direction": direction, "level": level, "note": request.note,
            "repeat_seconds": repeat_seconds, "rearm_level": rearm, "expires_at": expires_at,
            "window_seconds": window_seconds, "passed": passed, "price_source": request.source,
            "silent": request.silent, "message_thread_id": thread_id,  # where and how it is announced
            **({"liquidation": request.liquidation} if request.liquidation is not None else {}),
        })
    return specs


def expiry(expires: timedelta | datetime | None) -> datetime | None:
    if expires is None:
        return None
    if isinstance(expires, timedelta):
        return utcnow() + expires
    if expires <= utcnow():
        raise PastExpiry(expires)
    return expires
