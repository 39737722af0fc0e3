"""Warnings before liquidation (`/liq`): which mark prices are "within N % of the liquidation price".

Pure: the command's words in, the steps out. Each step is a repeating mark-price alert (the
crossing rule and the margin of every repeating alert): it warns once when the mark price comes
within its distance, and again only after the price moved away by the margin and came back.
A long is liquidated when the mark price falls to its liquidation price, a short when it rises
to it; the bot cannot compute that price without the account, so the trader gives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal

from bot.alerts.commands import CommandError, parse_duration, parse_level, parse_symbol, parse_until
from bot.crossing import Direction

DEFAULT_STEPS = (Decimal(10), Decimal(5), Decimal(2))  # % from the liquidation price
MAX_STEPS = 5
MAX_STEP = Decimal(50)
_STORED_STEP = Decimal("1e-10")


@dataclass(frozen=True)
class LiqRequest:
    symbol: str
    long: bool  # a long is liquidated by a fall, a short by a rise
    liquidation: Decimal
    steps: tuple[Decimal, ...] = DEFAULT_STEPS  # largest first
    expires: timedelta | datetime | None = None  # `for 7d` or `until DATE`: the whole watch ends then


def parse_liq(args: list[str], zone: tzinfo | None = None) -> LiqRequest:
    """`SYMBOL long|short PRICE [at 3% 1%] [for 7d|until DATE]` (`until` on the chat's clock)."""
    if len(args) < 3 or args[1].lower() not in ("long", "short"):
        raise CommandError("liq_usage")
    symbol, long, liquidation = parse_symbol(args[0]), args[1].lower() == "long", parse_level(args[2])
    rest = args[3:]
    expires: timedelta | datetime | None = None
    if len(rest) >= 2 and rest[-2].lower() in ("for", "until"):
        keyword, value = rest[-2].lower(), rest[-1]
        expires = (parse_duration(value, shortest=timedelta(minutes=1), longest=timedelta(days=365))
                   if keyword == "for" else parse_until(value, zone=zone))
        rest = rest[:-2]
    if not rest:
        return LiqRequest(symbol, long, liquidation, expires=expires)
    if rest[0].lower() != "at" or len(rest) < 2 or len(rest) > MAX_STEPS + 1:
        raise CommandError("liq_usage")
    steps = set()
    for word in rest[1:]:
        if not word.endswith("%"):
            raise CommandError("bad_liq_step", word)
        step = parse_level(word.removesuffix("%"))
        if step > MAX_STEP:
            raise CommandError("bad_liq_step", word)
        steps.add(step)
    return LiqRequest(symbol, long, liquidation, tuple(sorted(steps, reverse=True)), expires)


def direction(long: bool) -> Direction:
    """A long's warnings wait for the mark price to fall to them; a short's to rise."""
    return Direction.DOWN if long else Direction.UP


def step_level(long: bool, liquidation: Decimal, step: Decimal) -> Decimal:
    """The mark price at which the position is `step` % of the liquidation price away from it."""
    factor = 1 + step / 100 if long else 1 - step / 100
    return (liquidation * factor).quantize(_STORED_STEP, rounding=ROUND_HALF_EVEN).normalize()


def within(long: bool, liquidation: Decimal, mark: Decimal, step: Decimal) -> bool:
    """The mark price is within `step` % (of the liquidation price) of liquidation, or past it."""
    room = mark - liquidation if long else liquidation - mark
    return room * 100 <= liquidation * step


def distance(long: bool, liquidation: Decimal, mark: Decimal) -> Decimal:
    """How far the mark price still is from liquidation, in % of the liquidation price (negative: past it)."""
    room = mark - liquidation if long else liquidation - mark
    return (room * 100 / liquidation).quantize(Decimal("0.01"))
