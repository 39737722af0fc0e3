"""Time zones and quiet hours, in domain terms. Pure: no I/O, no clock (the moment is an argument).

A chat has an IANA zone (UTC unless /timezone chose one) and may have a quiet window of wall-clock
minutes ("23:00-07:00"). Whether a moment is quiet is decided by the chat's wall clock at that
moment, so a window across midnight and a daylight-saving change mean what a person expects: the
window ends when their clock first shows its end (on a spring-forward night that skips the end,
when the clock jumps past it).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.alerts.commands import CommandError

UTC_NAME = "UTC"
# The zones /timezone offers as buttons: where most of the bot's users live, west to east.
COMMON_ZONES = (
    "America/Los_Angeles", "America/New_York", "America/Sao_Paulo", "UTC", "Europe/London", "Europe/Berlin",
    "Europe/Moscow", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo",
)
MINUTES_PER_DAY = 1440
_CLOCK = re.compile(r"(\d{1,2})[:.h](\d{2})|(\d{1,2})", re.ASCII)


@cache
def _zone_names() -> dict[str, str]:
    """Every IANA name the system (or the tzdata package) knows, by its lower-case spelling."""
    return {name.lower(): name for name in available_timezones() | {UTC_NAME}}


def zone(name: str | None) -> ZoneInfo:
    """The stored zone name as a zone; None, or a name this system no longer knows, is UTC."""
    try:
        return ZoneInfo(name or UTC_NAME)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_NAME)


def parse_zone(text: str) -> str:
    """`europe/berlin`, `Europe/Berlin`, `utc` -> the IANA spelling; CommandError("unknown_zone")."""
    key = text.strip().lower()
    found = _zone_names().get(key)
    if found is None:
        raise CommandError("unknown_zone", text)
    return found


def suggest_zones(text: str, limit: int = 3) -> list[str]:
    """The IANA names closest to a near miss (`Europe/Berln`, `berlin`, `new york`)."""
    key = text.strip().lower().replace(" ", "_")
    names = _zone_names()
    # A city alone: every zone whose last part is that city.
    by_city = sorted(name for lower, name in names.items() if lower.rsplit("/", 1)[-1] == key)
    if by_city:
        return by_city[:limit]
    close = difflib.get_close_matches(key, list(names), n=limit, cutoff=0.6)
    if not close:  # compare with the last part alone: `berln` -> Europe/Berlin
        cities = {lower.rsplit("/", 1)[-1]: lower for lower in names}
        close = [cities[c] for c in difflib.get_close_matches(key, list(cities), n=limit, cutoff=0.6)]
    return [names[c] for c in close]


@dataclass(frozen=True)
class QuietHours:
    """A wall-clock window, in minutes after midnight; `end` before `start` crosses midnight."""

    start: int
    end: int
    digest: bool = False  # hold notifications and send them as one message at the end

    def label(self) -> str:
        return f"{clock(self.start)}–{clock(self.end)}"


def quiet_hours(start: int | None, end: int | None, digest: bool | None) -> QuietHours | None:
    """The stored columns (chats.quiet_start, quiet_end, quiet_digest) as a window, or None."""
    return None if start is None or end is None else QuietHours(start, end, bool(digest))


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_clock(text: str) -> int:
    """`23:00`, `7:30`, `23`, `07.00` -> minutes after midnight."""
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        raise CommandError("bad_quiet", text)
    hours = int(match.group(1) or match.group(3))
    minutes = int(match.group(2) or 0)
    if hours == 24 and minutes == 0:
        hours = 0
    if hours > 23 or minutes > 59:
        raise CommandError("bad_quiet", text)
    return hours * 60 + minutes


def parse_quiet(args: list[str]) -> QuietHours | None:
    """`/quiet 23:00-07:00 [digest]` -> the window; `/quiet off` -> None."""
    words = [w for w in " ".join(args).replace("–", "-").replace(" - ", "-").split() if w]
    if len(words) == 1 and words[0].lower() in ("off", "none", "no"):
        return None
    digest = len(words) == 2 and words[1].lower() == "digest"
    if not words or len(words) > 2 or (len(words) == 2 and not digest) or words[0].count("-") != 1:
        raise CommandError("quiet_usage")
    first, last = words[0].split("-")
    start, end = parse_clock(first), parse_clock(last)
    if start == end:
        raise CommandError("quiet_empty", words[0])
    return QuietHours(start, end, digest)


def _minute_of(moment: datetime, where: ZoneInfo) -> int:
    local = moment.replace(tzinfo=timezone.utc).astimezone(where)
    return local.hour * 60 + local.minute


def _inside_minute(minute: int, hours: QuietHours) -> bool:
    if hours.start < hours.end:
        return hours.start <= minute < hours.end
    return minute >= hours.start or minute < hours.end  # across midnight


def is_quiet(moment: datetime, where: ZoneInfo, hours: QuietHours | None) -> bool:
    """Whether `moment` (naive UTC) falls in the window, by the chat's wall clock."""
    return hours is not None and _inside_minute(_minute_of(moment, where), hours)


def quiet_until(moment: datetime, where: ZoneInfo, hours: QuietHours | None) -> datetime | None:
    """The first moment (naive UTC, on a minute) after `moment` whose wall clock is outside the
    window, or None when `moment` is not quiet. Across a DST change the wall clock decides: a
    skipped end ends the window when the clock jumps past it."""
    if hours is None or not is_quiet(moment, where, hours):
        return None
    local = moment.replace(tzinfo=timezone.utc).astimezone(where)
    day: date = local.date()
    if hours.start > hours.end and local.hour * 60 + local.minute >= hours.start:
        day += timedelta(days=1)  # the window started this evening and ends tomorrow
    wall = datetime.combine(day, time(hours.end // 60, hours.end % 60))
    # The end's wall time as instants: one, or two in a repeated hour, or none in a skipped one
    # (then fold 0 and 1 are the instants either side of the jump).
    candidates = sorted({_utc(wall.replace(tzinfo=where, fold=f)) for f in (0, 1)})
    start = moment.replace(second=0, microsecond=0)
    for candidate in candidates:
        if candidate > moment and not is_quiet(candidate, where, hours):
            return _first_outside(max(start, candidates[0] - timedelta(minutes=1)), candidate, where, hours)
    return _first_outside(start, candidates[-1] + timedelta(days=1), where, hours)  # not reached in practice


def _first_outside(low: datetime, high: datetime, where: ZoneInfo, hours: QuietHours) -> datetime:
    """The first minute in (low, high] outside the window, knowing `high` is outside and the
    minutes from `low` up to the answer are inside (a skipped hour: the jump lies between)."""
    low_minutes = int((low - datetime(1970, 1, 1)).total_seconds() // 60)
    high_minutes = int((high - datetime(1970, 1, 1)).total_seconds() // 60)
    while high_minutes - low_minutes > 1:
        middle = (low_minutes + high_minutes) // 2
        if is_quiet(datetime(1970, 1, 1) + timedelta(minutes=middle), where, hours):
            low_minutes = middle
        else:
            high_minutes = middle
    return datetime(1970, 1, 1) + timedelta(minutes=high_minutes)


def _utc(aware: datetime) -> datetime:
    return aware.astimezone(timezone.utc).replace(tzinfo=None)
