"""Editing an alert in place: its level (and maybe its note) moves, its id, repeat and expiry stay.

Pure: words in, a request out; an alert and a price in, the new column values out. The moved
alert follows the crossing rule exactly as a new alert at that level would: its direction is
decided from the current price (unless the words name one), and a level the price has already
passed waits for a new crossing (ARMING) instead of firing at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol, TypeVar

from bot.alerts.commands import MAX_NOTE_LENGTH, CommandError, parse_alert, parse_alert_id
from bot.alerts.rules import (
    DEFAULT_MARGIN, LEVEL_DIRECTIONS, Direction, crossed, direction_for, distance_percent, level_from_percent,
    rearm_level,
)
from bot.sources import PRICE_SOURCES, PriceSource

# parse_alert reads a symbol first; an edit names the alert instead, so any valid symbol stands in.
_ANY_SYMBOL = "BTCUSDT"


@dataclass(frozen=True)
class EditRequest:
    """`/edit 12 above 70000 new note`: which alert, where its level goes, and its new note
    (None: the note stays)."""

    alert_id: int
    level: Decimal | None  # None: `percent` of the current price
    direction: Direction | None  # None: decided from the current price, as for a new alert
    note: str | None
    percent: Decimal | None = None


def parse_edit(args: Sequence[str]) -> EditRequest:
    """`ID LEVEL [note]`, LEVEL as `/alert` takes it (`70000`, `below 2500`, `>70k`, `+5%`).

    Repeat, expiry, `silent` and move windows are kept from the alert, so they are refused here with the
    way to change them (delete and create)."""
    if len(args) < 2:
        raise CommandError("edit_usage")
    alert_id = parse_alert_id([args[0]])
    return parse_new_level(alert_id, list(args[1:]))


def parse_new_level(alert_id: int, words: Sequence[str]) -> EditRequest:
    """The answer to "new level for #12?": the words after the id of `/edit`."""
    if not words:
        raise CommandError("edit_usage")
    request = parse_alert([_ANY_SYMBOL, *words])
    if request.window is not None:
        raise CommandError("edit_move", words[0])
    if request.both_ways:
        raise CommandError("edit_both_ways", words[0])
    if request.repeat is not None or request.expires is not None or request.margin is not None or request.silent:
        raise CommandError("edit_keeps_options")  # an edit keeps them all: it never drops a word silently
    if len(request.note) > MAX_NOTE_LENGTH:  # parse_alert checks it too; kept explicit for readers
        raise CommandError("note_too_long", str(MAX_NOTE_LENGTH))
    return EditRequest(alert_id=alert_id, level=request.level, direction=request.direction,
                       note=request.note or None, percent=request.percent)


class MovableAlert(Protocol):
    direction: Direction
    level: Decimal
    repeat_seconds: int | None
    rearm_level: Decimal | None


@dataclass(frozen=True)
class Move:
    """Where the alert goes: its direction and level, the price it waits to go back past
    (a repeat's margin, or the level while ARMING), and whether it waits for a new crossing."""

    direction: Direction
    level: Decimal
    rearm_level: Decimal | None
    passed: bool


def target_level(request: EditRequest, current: Decimal) -> Decimal:
    if request.level is not None:
        return request.level
    assert request.percent is not None
    return level_from_percent(current, request.percent)


def margin_of(alert: MovableAlert) -> Decimal:
    """A repeating alert's margin in %, read back from its level and rearm level (the margin
    is not stored: rearm_level = level ∓ margin %), so a moved repeat keeps its hysteresis."""
    if alert.repeat_seconds is None or alert.rearm_level is None or alert.level <= 0:
        return DEFAULT_MARGIN
    margin = abs(alert.level - alert.rearm_level) * 100 / alert.level
    rounded = margin.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN).normalize()
    return rounded if rounded > 0 else DEFAULT_MARGIN


def plan_move(alert: MovableAlert, level: Decimal, direction: Direction | None, current: Decimal) -> Move:
    """The alert at `level`, decided as `/alert` decides a new one (service.alert_specs)."""
    if alert.direction not in LEVEL_DIRECTIONS:
        raise ValueError("a move alert has no price level to move")
    chosen = direction or direction_for(level, current)
    rearm = rearm_level(chosen, level, margin_of(alert)) if alert.repeat_seconds is not None else None
    passed = crossed(chosen, level, current)
    if passed:  # ARMING: a repeat arms past its margin, a once-alert past the level (storage.alerts.new_alert)
        return Move(chosen, level, rearm if rearm is not None else level, True)
    return Move(chosen, level, rearm, False)


class Priced(Protocol):
    symbol: str
    direction: Direction
    level: Decimal


A = TypeVar("A", bound=Priced)


Sources = Mapping[PriceSource, Mapping[str, Decimal]]  # per futures source, each symbol's figure now


def source_of(alert: object) -> PriceSource:
    """The price the alert watches (alerts read before issue 24, and test rows, watch the last one)."""
    return getattr(alert, "price_source", None) or PriceSource.LAST


def watched_price(alert: Priced, prices: Mapping[str, Decimal], sources: Sources | None = None) -> Decimal | None:
    """What the alert compares with now: the last price, or its source's fresh figure (mark, index,
    funding rate in %, seconds to the funding); None when unknown."""
    source = source_of(alert)
    if source is PriceSource.LAST:
        return prices.get(alert.symbol)
    return (sources or {}).get(source, {}).get(alert.symbol)


def closeness(alert: Priced, prices: Mapping[str, Decimal], sources: Sources | None = None) -> Decimal | None:
    """How far the alert's level is from the price it watches, in % (unsigned); None for a move
    alert, a funding alert or reminder (not a price), or an unknown price."""
    if source_of(alert) not in PRICE_SOURCES or alert.direction not in LEVEL_DIRECTIONS:
        return None
    current = watched_price(alert, prices, sources)
    if current is None or current <= 0:
        return None
    return abs(distance_percent(alert.level, current))


def group_by_symbol(alerts: Iterable[A], prices: Mapping[str, Decimal],
                    sources: Sources | None = None) -> list[tuple[str, list[A]]]:
    """Alerts grouped by symbol: the symbol whose alert is closest to the price it watches first,
    closest first within each; alerts without a distance (moves, funding, unknown prices) after
    those with one, by id; symbols without any distance last, by name."""
    far = Decimal("Infinity")
    groups: dict[str, list[A]] = {}
    for alert in alerts:
        groups.setdefault(alert.symbol, []).append(alert)

    def key(alert: A) -> tuple[Decimal, int]:
        found = closeness(alert, prices, sources)
        return (far if found is None else found, getattr(alert, "id", 0))

    ordered = [(symbol, sorted(members, key=key)) for symbol, members in groups.items()]
    ordered.sort(key=lambda group: (key(group[1][0])[0], group[0]))
    return ordered
