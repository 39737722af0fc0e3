"""Reading command arguments. Pure functions: text in, a request or a `CommandError` out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.alerts.rules import Direction
from bot.alerts.symbols import normalize_symbol

MAX_NOTE_LENGTH = 200
MAX_PRICE_SYMBOLS = 10
# The database keeps 10 decimal places (storage.types.ExactDecimal); Binance prices use at most 8.
MAX_DECIMALS = 10
MAX_LEVEL = Decimal("100000000")

_OPERATORS = {
    "above": Direction.UP, ">": Direction.UP, ">=": Direction.UP,
    "below": Direction.DOWN, "<": Direction.DOWN, "<=": Direction.DOWN,
}
# "70,000.5" with thousands separators; a lone comma is read as a decimal comma.
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$", re.ASCII)


class CommandError(Exception):
    """Input we cannot use; `reason` picks the friendly explanation in the text catalogue."""

    def __init__(self, reason: str, value: str = "") -> None:
        super().__init__(reason, value)
        self.reason = reason
        self.value = value


@dataclass(frozen=True)
class AlertRequest:
    symbol: str
    level: Decimal
    direction: Direction | None  # None: decided from the current price
    note: str


def parse_level(text: str) -> Decimal:
    raw = text.strip().lstrip("$")
    if _THOUSANDS.match(raw):
        raw = raw.replace(",", "")
    elif raw.count(",") == 1 and "." not in raw:
        raw = raw.replace(",", ".")
    raw = raw.replace("_", "")
    if not re.fullmatch(r"\d*\.?\d+|\d+\.", raw, re.ASCII):
        raise CommandError("bad_level", text)
    try:
        level = Decimal(raw)
    except InvalidOperation:
        raise CommandError("bad_level", text) from None
    if level <= 0:
        raise CommandError("level_not_positive", text)
    if level >= MAX_LEVEL:
        raise CommandError("level_too_large", text)
    exponent = level.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        raise CommandError("level_too_precise", text)
    return level


def parse_symbol(text: str) -> str:
    symbol = normalize_symbol(text)
    if symbol is None:
        raise CommandError("bad_symbol", text)
    return symbol


def parse_alert(args: list[str]) -> AlertRequest:
    """`SYMBOL [above|below|>|<|>=|<=] PRICE [note...]`; the operator may touch the price (`>70000`)."""
    if len(args) < 2:
        raise CommandError("alert_usage")
    symbol = parse_symbol(args[0])
    rest = list(args[1:])
    direction: Direction | None = None
    head = rest[0].lower()
    if head in _OPERATORS:
        direction = _OPERATORS[head]
        rest = rest[1:]
        if not rest:
            raise CommandError("alert_usage")
    else:
        for op in (">=", "<=", ">", "<"):
            if head.startswith(op):
                direction = _OPERATORS[op]
                rest[0] = rest[0][len(op):]
                break
    level = parse_level(rest[0])
    note = " ".join(rest[1:]).strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise CommandError("note_too_long", str(MAX_NOTE_LENGTH))
    return AlertRequest(symbol=symbol, level=level, direction=direction, note=note)


def parse_alert_id(args: list[str]) -> int:
    """`/delete 12` or `/delete #12`."""
    if len(args) != 1:
        raise CommandError("delete_usage")
    raw = args[0].strip().lstrip("#")
    if not raw.isdigit() or not raw.isascii() or len(raw) > 18:
        raise CommandError("bad_alert_id", args[0])
    return int(raw)


def parse_price_symbols(args: list[str]) -> list[str]:
    if not args:
        raise CommandError("price_usage")
    symbols: list[str] = []
    for arg in args:
        for part in arg.split(","):
            if part.strip():
                symbol = parse_symbol(part)
                if symbol not in symbols:
                    symbols.append(symbol)
    if not symbols:
        raise CommandError("price_usage")
    if len(symbols) > MAX_PRICE_SYMBOLS:
        raise CommandError("too_many_symbols", str(MAX_PRICE_SYMBOLS))
    return symbols
