"""One alert as the Mini App reads it: facts, not words (the page words them in the chat's
language). Exact decimals as strings; which price the alert watches and where that price is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.alerts.editing import Sources, closeness, watched_price
from bot.alerts.rules import Direction
from bot.sources import PriceSource
from bot.storage.models import Alert


def plain(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def kind_of(alert: Alert) -> str:
    """What the page does with an alert: "level" (a price line it may drag, on the last, mark or
    index price), "move", "liq" (a /liq step: a mark-price line, moved by /liq again), "funding"
    (a rate, no line) or "reminder" (a time before the funding, no line)."""
    if alert.direction is Direction.EITHER:
        return "move"
    if alert.price_source is PriceSource.FUNDING:
        return "funding"
    if alert.price_source is PriceSource.FUNDING_BEFORE:
        return "reminder"
    return "liq" if alert.liquidation is not None else "level"


def alert_facts(alert: Alert, price: Decimal | None, sources: Sources | None = None) -> dict[str, Any]:
    """One alert as the page reads it: a move alert's `level` is its size in %, a funding alert's
    a rate in %, a reminder's its lead in seconds. `price` is the symbol's last price; `watched`
    the figure the alert compares with (the mark or index price for those), `distance` from it."""
    last = {alert.symbol: price} if price is not None else {}
    watched = watched_price(alert, last, sources)
    if watched is not None and alert.price_source is PriceSource.FUNDING:
        watched = watched.normalize() if watched else Decimal(0)  # 0.0100000000 -> 0.01 (a rate in %)
    distance = closeness(alert, last, sources)
    signed = None
    if distance is not None and watched is not None:
        signed = distance if alert.level >= watched else -distance
    return {
        "id": alert.id, "symbol": alert.symbol, "direction": alert.direction.value, "level": plain(alert.level),
        "kind": kind_of(alert), "source": alert.price_source.value, "note": alert.note,
        "state": alert.state.value, "repeat_seconds": alert.repeat_seconds, "window_seconds": alert.window_seconds,
        "expires_at": alert.expires_at.isoformat() + "Z" if alert.expires_at else None,
        "distance": plain(signed), "watched": plain(watched), "liquidation": plain(alert.liquidation),
    }
