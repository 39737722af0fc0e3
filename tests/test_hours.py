"""Time zones and quiet hours, the pure part (bot.alerts.hours): which moments are quiet, when a
window ends across midnight and daylight-saving changes, and reading what users type."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from bot.alerts.commands import CommandError, parse_until
from bot.alerts.hours import (
    QuietHours, is_quiet, parse_clock, parse_quiet, parse_zone, quiet_until, suggest_zones, zone,
)

BERLIN, NEW_YORK, UTC = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("UTC")
NIGHT = QuietHours(23 * 60, 7 * 60)


@pytest.mark.parametrize(("moment", "where", "hours", "quiet", "until"), [
    # across midnight, UTC
    (datetime(2026, 12, 7, 22, 59), UTC, NIGHT, False, None),
    (datetime(2026, 12, 7, 23, 0), UTC, NIGHT, True, datetime(2026, 12, 8, 7, 0)),
    (datetime(2026, 12, 8, 3, 30), UTC, NIGHT, True, datetime(2026, 12, 8, 7, 0)),
    (datetime(2026, 12, 8, 7, 0), UTC, NIGHT, False, None),
    # a window within one day
    (datetime(2026, 12, 7, 12, 0), UTC, QuietHours(9 * 60, 17 * 60), True, datetime(2026, 12, 7, 17, 0)),
    (datetime(2026, 12, 7, 8, 59), UTC, QuietHours(9 * 60, 17 * 60), False, None),
    # Berlin in winter (UTC+1): 23:00 local is 22:00 UTC
    (datetime(2026, 12, 7, 22, 0), BERLIN, NIGHT, True, datetime(2026, 12, 8, 6, 0)),
    (datetime(2026, 12, 7, 21, 59), BERLIN, NIGHT, False, None),
    # the spring-forward night (2027-03-28, 02:00 CET -> 03:00 CEST): the night is an hour shorter,
    # and ends at 07:00 CEST = 05:00 UTC
    (datetime(2027, 3, 27, 22, 0), BERLIN, NIGHT, True, datetime(2027, 3, 28, 5, 0)),
    # a window ending in the skipped hour ends when the clock jumps past it (03:00 CEST = 01:00 UTC)
    (datetime(2027, 3, 28, 0, 30), BERLIN, QuietHours(23 * 60, 2 * 60 + 30), True, datetime(2027, 3, 28, 1, 0)),
    # the fall-back night (2027-10-31, 03:00 CEST -> 02:00 CET): an hour longer, ends 07:00 CET = 06:00 UTC
    (datetime(2027, 10, 30, 21, 0), BERLIN, NIGHT, True, datetime(2027, 10, 31, 6, 0)),
    # a window ending in the repeated hour ends at its first 02:30 (CEST, 00:30 UTC) ...
    (datetime(2027, 10, 30, 22, 0), BERLIN, QuietHours(23 * 60, 2 * 60 + 30), True, datetime(2027, 10, 31, 0, 30)),
    # ... and the clock going back to 02:00 makes it quiet again until the second 02:30 (CET, 01:30 UTC)
    (datetime(2027, 10, 31, 1, 0), BERLIN, QuietHours(23 * 60, 2 * 60 + 30), True, datetime(2027, 10, 31, 1, 30)),
    # New York's spring-forward (2027-03-14, 02:00 EST -> 03:00 EDT)
    (datetime(2027, 3, 14, 4, 0), NEW_YORK, NIGHT, True, datetime(2027, 3, 14, 11, 0)),
    (None, UTC, None, False, None),
])
def test_quiet_moments_and_when_they_end(moment: datetime | None, where: ZoneInfo, hours: QuietHours | None,
                                         quiet: bool, until: datetime | None) -> None:
    moment = moment or datetime(2026, 12, 7, 23, 30)
    assert is_quiet(moment, where, hours) is quiet
    assert quiet_until(moment, where, hours) == until


ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
                         "America/Santiago", "Pacific/Chatham", "Asia/Tokyo"])


@settings(max_examples=100, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
       name=ZONES, start=st.integers(0, 1439), end=st.integers(0, 1439))
def test_a_window_ends_at_the_first_minute_outside_it(moment: datetime, name: str, start: int, end: int) -> None:
    if start == end:
        return
    where, hours = ZoneInfo(name), QuietHours(start, end)
    until = quiet_until(moment, where, hours)
    if not is_quiet(moment, where, hours):
        assert until is None
        return
    assert until is not None and moment < until <= moment + timedelta(hours=26)
    assert not is_quiet(until, where, hours)
    # every minute before it, from `moment` on, is quiet (sampled every 7 minutes, and the last one)
    step = moment.replace(second=0, microsecond=0)
    while step < until:
        assert is_quiet(step, where, hours)
        step += timedelta(minutes=7)
    assert is_quiet(until - timedelta(minutes=1), where, hours) or until - timedelta(minutes=1) < moment


@pytest.mark.parametrize(("args", "expected"), [
    (["23:00-07:00"], QuietHours(1380, 420)),
    (["23:00-07:00", "digest"], QuietHours(1380, 420, True)),
    (["23:00", "-", "07:00"], QuietHours(1380, 420)),
    (["22.30–6.15"], QuietHours(1350, 375)),
    (["9-17", "DIGEST"], QuietHours(540, 1020, True)),
    (["off"], None),
    (["OFF"], None),
])
def test_reading_quiet_hours(args: list[str], expected: QuietHours | None) -> None:
    assert parse_quiet(args) == expected


@pytest.mark.parametrize(("args", "reason"), [
    (["23:00"], "quiet_usage"), (["23:00-07:00", "loud"], "quiet_usage"), (["25:00-07:00"], "bad_quiet"),
    (["23:61-07:00"], "bad_quiet"), (["7:00-7:00"], "quiet_empty"), (["a-b"], "bad_quiet"), ([], "quiet_usage"),
])
def test_bad_quiet_hours_say_why(args: list[str], reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_quiet(args)
    assert caught.value.reason == reason


@given(hours=st.integers(0, 23), minutes=st.integers(0, 59))
def test_any_clock_time_reads_back(hours: int, minutes: int) -> None:
    assert parse_clock(f"{hours}:{minutes:02d}") == hours * 60 + minutes


@pytest.mark.parametrize(("typed", "name"), [
    ("Europe/Berlin", "Europe/Berlin"), ("europe/berlin", "Europe/Berlin"), ("AMERICA/NEW_YORK", "America/New_York"),
    ("utc", "UTC"),
])
def test_zone_names_are_case_insensitive(typed: str, name: str) -> None:
    assert parse_zone(typed) == name


@pytest.mark.parametrize(("typed", "suggested"), [
    ("Europe/Berln", "Europe/Berlin"), ("berlin", "Europe/Berlin"), ("new york", "America/New_York"),
    ("Asia/Tokio", "Asia/Tokyo"),
])
def test_a_near_miss_gets_suggestions(typed: str, suggested: str) -> None:
    with pytest.raises(CommandError):
        parse_zone(typed)
    assert suggested in suggest_zones(typed)


def test_an_unknown_stored_zone_is_utc() -> None:
    assert zone(None) == UTC and zone("Mars/Olympus") == UTC


@pytest.mark.parametrize(("text", "where", "utc"), [
    ("2027-03-27T12:00", BERLIN, datetime(2027, 3, 27, 11, 0)),  # CET, the day before the change
    ("2027-03-28T12:00", BERLIN, datetime(2027, 3, 28, 10, 0)),  # CEST, the day of the change
    ("2027-03-28", BERLIN, datetime(2027, 3, 28, 21, 59, 59)),  # the end of that day, in CEST
    ("2027-03-28T02:30", BERLIN, datetime(2027, 3, 28, 1, 30)),  # skipped: the offset before the change
    ("2027-10-31T02:30", BERLIN, datetime(2027, 10, 31, 0, 30)),  # repeated: the first one
    ("2027-03-28T12:00+00:00", BERLIN, datetime(2027, 3, 28, 12, 0)),  # an offset wins
    ("2027-03-28T12:00", None, datetime(2027, 3, 28, 12, 0)),  # no zone: UTC, as before
])
def test_until_is_read_on_the_chats_clock(text: str, where: ZoneInfo | None, utc: datetime) -> None:
    assert parse_until(text, now=datetime(2026, 12, 7), zone=where) == utc
