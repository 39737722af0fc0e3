"""Reading command arguments. Pure functions: text in, a request or a `CommandError` out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation

from bot.alerts.rules import Direction
from bot.sources import PriceSource
from bot.symbols import normalize_symbol

MAX_NOTE_LENGTH = 200
MAX_PRICE_SYMBOLS = 10
# The database keeps 10 decimal places (storage.types.ExactDecimal); Binance prices use at most 8.
MAX_DECIMALS = 10
MAX_LEVEL = Decimal("100000000")
MAX_PERCENT = Decimal("1000")
# alerts.id is a 32-bit INTEGER on PostgreSQL: a larger number can name no alert.
MAX_ALERT_ID = 2_147_483_647
MAX_UNTIL = timedelta(days=3653)  # `until` at most 10 years ahead
_SUFFIXES = {"k": Decimal(1000), "m": Decimal(1_000_000)}  # `100k`, `1.5M`: what traders write

SOURCE_WORDS = {"mark": PriceSource.MARK, "index": PriceSource.INDEX,  # `/alert BTCUSDT mark 70000`
                "funding": PriceSource.FUNDING}  # `/alert BTCUSDT funding above 0.05%`
MAX_FUNDING_PERCENT = Decimal("10")  # Binance caps funding far below this (±2 % to ±4 % a period)
_OPERATORS = {
    "above": Direction.UP, ">": Direction.UP, ">=": Direction.UP,
    "below": Direction.DOWN, "<": Direction.DOWN, "<=": Direction.DOWN,
}
# "70,000.5" with thousands separators: groups of exactly three digits after a first group that
# does not start with 0. Any other single comma ("0,130", "1,5", "2,50") is a decimal comma.
_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(,\d{3})+(\.\d+)?$", re.ASCII)


class CommandError(Exception):
    """Input we cannot use; `reason` picks the friendly explanation in the text catalogue."""

    def __init__(self, reason: str, value: str = "") -> None:
        super().__init__(reason, value)
        self.reason = reason
        self.value = value


@dataclass(frozen=True)
class AlertRequest:
    symbol: str
    level: Decimal | None  # None when the level is a percentage of the current price
    direction: Direction | None  # None: decided from the current price
    note: str
    percent: Decimal | None = None  # +5 or -3: the level is this far from the current price
    both_ways: bool = False  # ±2%: one alert each way
    repeat: timedelta | None = None  # `every 1h`: re-arms after this cooldown
    margin: Decimal | None = None  # `every 1h margin 1%`: how far back the price must go to re-arm
    expires: timedelta | datetime | None = None  # `for 1d`, or `until 2026-12-31` (UTC)
    window: timedelta | None = None  # `3% 15m`: fires on a 3 % move either way within 15 minutes
    silent: bool = False  # `silent`: its notifications arrive without a sound
    source: PriceSource = PriceSource.LAST  # `mark 70000`, `index below 65000`: the price it watches
    liquidation: Decimal | None = None  # a /liq step read back by /import: the liquidation price it warns before


def parse_level(text: str) -> Decimal:
    """`70000`, `70,000.5`, `0,130` (decimal comma), `0.0525`, `$65000`, `100k`, `1.5M`."""
    raw = text.strip().lstrip("$")
    multiplier = _SUFFIXES.get(raw[-1:].lower(), Decimal(1))
    if multiplier != 1:
        raw = raw[:-1]
    if _THOUSANDS.match(raw):
        raw = raw.replace(",", "")
    elif raw.count(",") == 1 and "." not in raw:
        raw = raw.replace(",", ".")
    raw = raw.replace("_", "")
    if not re.fullmatch(r"\d*\.?\d+|\d+\.", raw, re.ASCII):
        raise CommandError("bad_level", text)
    try:
        level = Decimal(raw) * multiplier
    except InvalidOperation:
        raise CommandError("bad_level", text) from None
    if multiplier != 1 and level == level.to_integral_value():
        level = level.quantize(Decimal(1))  # 1.5k is 1500, not 1500.0
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


def parse_alert(args: list[str], zone: tzinfo | None = None) -> AlertRequest:
    """`SYMBOL [mark|index] [above|below|>|<|>=|<=] PRICE|+5%|-3%|±2%|3% 15m [every 1h [margin 1%]]
    [for 1d|until DATE] [silent] [note...]`.

    The operator may touch the price (`>70000`). `mark` or `index` watches that price instead of
    the last trade (not for a move within a window). `until` is read in the chat's `zone` (UTC when None).
    """
    if len(args) < 2:
        raise CommandError("alert_usage")
    symbol = parse_symbol(args[0])
    rest = list(args[1:])
    source = SOURCE_WORDS.get(rest[0].lower(), PriceSource.LAST)
    if source is PriceSource.FUNDING:
        return parse_funding_alert(symbol, rest[1:])
    if source is not PriceSource.LAST:
        if len(rest) < 2:
            raise CommandError("source_usage", rest[0])
        rest = rest[1:]
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
    level, percent, both_ways, window = None, None, False, None
    if rest[0].endswith("%") and rest[0][:1].isdigit():
        # `3% 15m`: a move either way within a window
        if direction is not None or len(rest) < 2:
            raise CommandError("bad_percent", rest[0])
        level = parse_level(rest[0].removesuffix("%"))
        if not Decimal("0.1") <= level <= 100:
            raise CommandError("percent_out_of_range", rest[0])
        window = parse_duration(rest[1], shortest=timedelta(minutes=1), longest=timedelta(hours=24))
        rest = rest[1:]
    elif rest[0].endswith("%"):
        if direction is not None:
            raise CommandError("percent_with_direction", rest[0])
        percent, both_ways = parse_percent_move(rest[0])
    else:
        level = parse_level(rest[0])
    options, note_words = _parse_options(rest[1:], zone)
    note = " ".join(note_words).strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise CommandError("note_too_long", str(MAX_NOTE_LENGTH))
    if "margin" in options and "every" not in options:
        raise CommandError("margin_without_every")
    if window is not None and "margin" in options:
        raise CommandError("margin_with_move")
    if window is not None and source is not PriceSource.LAST:
        raise CommandError("source_with_move", source.value)
    return AlertRequest(
        symbol=symbol, level=level, direction=Direction.EITHER if window else direction, note=note,
        percent=percent, both_ways=both_ways, repeat=options.get("every"), margin=options.get("margin"),
        expires=options.get("for") or options.get("until"), window=window, silent=bool(options.get("silent")),
        source=source,
    )


def parse_funding_alert(symbol: str, words: list[str]) -> AlertRequest:
    """`above|below|>|< RATE[%] [for 1d|until DATE] [note...]` after `SYMBOL funding`: the
    predicted funding rate crossing RATE % (may be negative), once."""
    if len(words) >= 2 and words[1].lower() == "before" and words[0][:1].isdigit():
        return _parse_funding_reminder(symbol, words)
    if len(words) < 2 or words[0].lower() not in _OPERATORS:
        raise CommandError("funding_usage")
    direction = _OPERATORS[words[0].lower()]
    raw = words[1].removesuffix("%")
    if not re.fullmatch(r"[+-]?(\d*\.?\d+)", raw, re.ASCII):
        raise CommandError("bad_funding", words[1])
    level = Decimal(raw)
    if abs(level) > MAX_FUNDING_PERCENT or -(level.as_tuple().exponent) > 6:  # type: ignore[operator]
        raise CommandError("bad_funding", words[1])
    options, note_words = _parse_options(words[2:])
    if "every" in options or "margin" in options:
        raise CommandError("funding_usage")
    note = " ".join(note_words).strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise CommandError("note_too_long", str(MAX_NOTE_LENGTH))
    return AlertRequest(symbol=symbol, level=level, direction=direction, note=note,
                        expires=options.get("for") or options.get("until"), source=PriceSource.FUNDING)


FUNDING_REMINDER_REPEAT = timedelta(minutes=1)  # `every`: the cooldown, far shorter than any funding interval


def _parse_funding_reminder(symbol: str, words: list[str]) -> AlertRequest:
    """`15m before [every] [note...]`: a reminder that long before the next funding (or each one)."""
    lead = parse_duration(words[0], shortest=timedelta(minutes=1), longest=timedelta(hours=4))
    rest = words[2:]
    every = bool(rest) and rest[0].lower() == "every"
    note = " ".join(rest[1:] if every else rest).strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise CommandError("note_too_long", str(MAX_NOTE_LENGTH))
    return AlertRequest(symbol=symbol, level=Decimal(int(lead.total_seconds())), direction=Direction.DOWN, note=note,
                        repeat=FUNDING_REMINDER_REPEAT if every else None, source=PriceSource.FUNDING_BEFORE)


def parse_percent_move(text: str) -> tuple[Decimal, bool]:
    """`+5%`, `-3%`, `±2%` (or `+-2%`): the move from the current price, and whether both ways."""
    raw = text.strip().removesuffix("%")
    both = raw.startswith(("±", "+-", "-+"))
    sign = "+" if both else raw[:1]
    number = raw.lstrip("±+-")
    if sign not in "+-" or not sign or not re.fullmatch(r"\d*\.?\d+", number, re.ASCII):
        raise CommandError("bad_percent", text)
    percent = Decimal(number)
    if not Decimal("0.01") <= percent <= MAX_PERCENT or (sign == "-" and percent >= 100):
        raise CommandError("percent_out_of_range", text)
    return (percent if sign == "+" else -percent), both


def parse_duration(text: str, *, shortest: timedelta, longest: timedelta) -> timedelta:
    """`30m`, `1h`, `2d`, `1w`."""
    match = re.fullmatch(r"(\d{1,4})(m|min|h|d|w)", text.strip().lower(), re.ASCII)
    if not match:
        raise CommandError("bad_duration", text)
    amount, unit = int(match.group(1)), match.group(2)
    duration = timedelta(minutes=amount) if unit in ("m", "min") else timedelta(**{
        {"h": "hours", "d": "days", "w": "weeks"}[unit]: amount})
    if not shortest <= duration <= longest:
        raise CommandError("duration_out_of_range", text)
    return duration


def parse_until(text: str, now: datetime | None = None, zone: tzinfo | None = None) -> datetime:
    """`2026-12-31` (the end of that day) or `2026-12-31T18:00`, on the clock of `zone` (the
    chat's /timezone; UTC when None) unless it names an offset; naive UTC like storage, at most
    10 years after `now` (naive UTC, default: the clock). A wall time a DST change repeats is its
    first occurrence; one it skips is read with the offset before the change."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, re.ASCII):
            moment = datetime.fromisoformat(text) + timedelta(days=1) - timedelta(seconds=1)
        else:
            moment = datetime.fromisoformat(text)
        if moment.tzinfo is None and zone is not None:
            moment = moment.replace(tzinfo=zone, fold=0)
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    except ValueError:
        raise CommandError("bad_until", text) from None
    except OverflowError:  # 9999-12-31 plus a day, or an offset past year 1 or 9999
        raise CommandError("until_too_far", text) from None
    if moment > now + MAX_UNTIL:
        raise CommandError("until_too_far", text)
    return moment


def _parse_options(words: list[str], zone: tzinfo | None = None) -> tuple[dict, list[str]]:
    """Leading `every 1h`, `margin 1%`, `for 1d`, `until 2026-12-31`, `silent`; the remaining words are the note.

    A keyword counts only when a number follows it, so a note may say "for a friend"; `silent`
    is a word alone, so a note cannot start with that word (it is read as the option).
    """
    options: dict = {}
    words = list(words)
    while words and words[0].lower() == "silent" or (
            len(words) >= 2 and words[0].lower() in ("every", "margin", "for", "until") and words[1][:1].isdigit()):
        if words[0].lower() == "silent":
            if "silent" in options:
                raise CommandError("option_twice", "silent")
            options["silent"] = True
            words = words[1:]
            continue
        keyword, value = words[0].lower(), words[1]
        if keyword in options or (keyword in ("for", "until") and ({"for", "until"} & options.keys())):
            raise CommandError("option_twice", keyword)
        if keyword == "every":
            options[keyword] = parse_duration(value, shortest=timedelta(minutes=1), longest=timedelta(days=7))
        elif keyword == "margin":
            if not value.endswith("%"):
                raise CommandError("bad_margin", value)
            margin = parse_level(value.removesuffix("%"))
            if margin > 50:
                raise CommandError("bad_margin", value)
            options[keyword] = margin
        elif keyword == "for":
            options[keyword] = parse_duration(value, shortest=timedelta(minutes=1), longest=timedelta(days=365))
        else:
            options[keyword] = parse_until(value, zone=zone)
        words = words[2:]
    return options, words


def parse_alert_id(args: list[str]) -> int:
    """`/delete 12` or `/delete #12`."""
    if len(args) != 1:
        raise CommandError("delete_usage")
    raw = args[0].strip().lstrip("#")
    if not raw.isdigit() or not raw.isascii():
        raise CommandError("bad_alert_id", args[0])
    if len(raw) > 10 or not 1 <= int(raw) <= MAX_ALERT_ID:
        raise CommandError("alert_id_out_of_range", args[0])
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
