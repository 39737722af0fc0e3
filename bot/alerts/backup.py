"""A chat's alerts as a CSV file (/export), and such a file read back into requests (/import).

Pure: alerts in, bytes out; bytes in, one `/alert` request (or the reason it is refused) per line.
Each line is read by the same parser as `/alert` (commands.parse_alert), so an imported alert is
checked exactly like a typed one. The file as a whole must be one we could have written: a
malformed or oversized file is refused before anything is created.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from bot.alerts.commands import MAX_NOTE_LENGTH, AlertRequest, CommandError, parse_alert, parse_level
from bot.alerts.liquidation import parse_liq
from bot.alerts.requests import LIQ_REPEAT_SECONDS
from bot.alerts.rules import DEFAULT_MARGIN, Direction
from bot.sources import PriceSource

COLUMNS = ("symbol", "direction", "level", "note", "repeat", "expiry", "silent")
OLD_COLUMNS = COLUMNS[:6]  # files exported before silent alerts (issue 25) still import
_YES = ("yes", "true", "1", "silent")
MAX_BYTES = 64 * 1024
_DIRECTIONS = {Direction.UP: "above", Direction.DOWN: "below", Direction.EITHER: "move"}


class ExportedAlert(Protocol):
    symbol: str
    direction: Direction
    level: Decimal
    note: str
    repeat_seconds: int | None
    rearm_level: Decimal | None
    expires_at: datetime | None
    window_seconds: int | None
    # and, optionally, `silent: bool` (issue 25), `price_source` and `liquidation` (issue 24)


class BackupError(Exception):
    """The file as a whole cannot be imported: `reason` is "too_large", "too_many", "malformed" or "empty"."""

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason, line)
        self.reason, self.line = reason, line


@dataclass(frozen=True)
class Line:
    number: int  # in the file, the header being line 1
    request: AlertRequest | None
    error: CommandError | None = None


def _duration(seconds: int) -> str:
    """The largest unit that divides it exactly, as /alert takes it: 3600 -> 1h, 5400 -> 90m."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{max(1, seconds // 60)}m"


def _margin(alert: ExportedAlert) -> Decimal | None:
    """The `margin N%` a repeating alert was made with, when it is not the default."""
    if alert.rearm_level is None or not alert.level:
        return None
    margin = (abs(alert.level - alert.rearm_level) * 100 / alert.level).quantize(Decimal("0.01")).normalize()
    return None if margin == DEFAULT_MARGIN else margin


def export_csv(alerts: Sequence[ExportedAlert]) -> bytes:
    """One line per alert, under a header; UTF-8 with a BOM so that spreadsheets read it right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for alert in alerts:
        level = f"{alert.level:f}"
        if alert.direction is Direction.EITHER:
            level = f"{alert.level:f}% {_duration(alert.window_seconds or 60)}"
        repeat = _duration(alert.repeat_seconds) if alert.repeat_seconds else ""
        margin = _margin(alert) if repeat else None
        if margin is not None:
            repeat += f" margin {margin:f}%"
        expiry = alert.expires_at.strftime("%Y-%m-%dT%H:%M") if alert.expires_at else ""
        direction = _DIRECTIONS[alert.direction]
        source = getattr(alert, "price_source", PriceSource.LAST)
        if source is not PriceSource.LAST:  # `mark above`: read back as /alert reads `mark above 70000`
            direction = f"{source.value} {direction}"
        if source is PriceSource.FUNDING_BEFORE:  # `funding before` and its lead: read back as `funding 15m before`
            direction, level = "funding before", _duration(int(alert.level))
        liquidation = getattr(alert, "liquidation", None)
        if liquidation is not None:  # a /liq step: `liq long 61234` and its mark level, exactly as stored
            # (not "at 10%": a percentage of a low price, or of a step moved by /edit, need not read back)
            long = alert.direction is Direction.DOWN
            direction, level, repeat = f"liq {'long' if long else 'short'} {liquidation:f}", f"{alert.level:f}", ""
        silent = "yes" if getattr(alert, "silent", False) else ""
        writer.writerow([alert.symbol, direction, level, alert.note, repeat, expiry, silent])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def parse_csv(data: bytes, max_alerts: int) -> list[Line]:
    """Every line of an /export file, read as /alert reads its arguments.

    Raises BackupError for a file that is too large, lists more than `max_alerts` alerts, lists
    none, or is not such a file at all (not UTF-8, another header, a line with other columns).
    """
    if len(data) > MAX_BYTES:
        raise BackupError("too_large")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BackupError("malformed", 1) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        raise BackupError("malformed", 1) from None
    numbered = [(number, row) for number, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)]
    header = tuple(cell.strip().lower() for cell in numbered[0][1]) if numbered else ()
    if header not in (COLUMNS, OLD_COLUMNS):
        raise BackupError("malformed", numbered[0][0] if numbered else 1)
    body = numbered[1:]
    if not body:
        raise BackupError("empty")
    if len(body) > max_alerts:
        raise BackupError("too_many")
    for number, row in body:
        if len(row) != len(header):
            raise BackupError("malformed", number)
    return [_line(number, row + [""] * (len(COLUMNS) - len(row))) for number, row in body]


def _line(number: int, row: list[str]) -> Line:
    symbol, direction, level, note, repeat, expiry, silent = (cell.strip() for cell in row)
    args = [symbol]
    if direction.lower().split() == ["funding", "before"]:  # a funding reminder: `funding 15m before [every]`
        args += ["funding", level, "before", *(["every"] if repeat else [])]
        repeat = ""  # its repeat is the reminder's own cooldown, not an `every` duration
    elif direction.lower().split()[:1] == ["liq"]:  # a /liq step: `liq long 61234` and its level
        return _liq_line(number, symbol, direction, level, note, expiry, silent)
    elif direction.lower() == "move":
        args += level.split()
    else:
        args += [*direction.split(), level]  # `above`, `mark above` (a mark price alert), or nothing
    if repeat:
        args += ["every", *repeat.split()]
    if expiry:
        args += ["until", expiry]
    if silent.lower() in _YES:
        args.append("silent")
    note = " ".join(note.split())
    try:
        if silent and silent.lower() not in _YES + ("no", "false", "0"):
            raise CommandError("alert_usage")
        # /alert reads `every`/`until` only before a number; here the column says what it is.
        if repeat and not repeat[:1].isdigit():
            raise CommandError("bad_duration", repeat)
        if expiry and not expiry[:1].isdigit():
            raise CommandError("bad_until", expiry)
        request = parse_alert(args)
        if request.note:  # words left over: a column said more than its option
            raise CommandError("alert_usage")
        if len(note) > MAX_NOTE_LENGTH:
            raise CommandError("note_too_long", str(MAX_NOTE_LENGTH))
    except CommandError as exc:
        return Line(number, None, exc)
    return Line(number, replace(request, note=note))


def _liq_line(number: int, symbol: str, direction: str, level: str, note: str, expiry: str, silent: str) -> Line:
    """One /liq step: the repeating mark-price alert /liq makes for it, at its level, with its
    liquidation price (`liq long 61234`, read as /liq reads those words)."""
    try:
        liq = parse_liq([symbol, *direction.split()[1:]])
        step = parse_level(level)
        if (step <= liq.liquidation) if liq.long else (step >= liq.liquidation):  # a warning before liquidation
            raise CommandError("liq_usage")
        args = [symbol, "mark", "below" if liq.long else "above", f"{step:f}", "every", _duration(LIQ_REPEAT_SECONDS)]
        args += ["until", expiry] if expiry else []
        args += ["silent"] if silent.lower() in _YES else []
        note = " ".join(note.split())
        if len(note) > MAX_NOTE_LENGTH:
            raise CommandError("note_too_long", str(MAX_NOTE_LENGTH))
        request = parse_alert(args)
    except CommandError as exc:
        return Line(number, None, exc)
    return Line(number, replace(request, note=note, liquidation=liq.liquidation))
