"""Levels mean what people mean, every number has a range, and no text crashes a parser."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from bot.alerts.commands import (
    MAX_ALERT_ID, CommandError, parse_alert, parse_alert_id, parse_duration, parse_level, parse_price_symbols,
    parse_until,
)
from bot.alerts.rules import needs_confirmation
from bot.texts import USAGE, Texts


@pytest.mark.parametrize(("typed", "level"), [
    ("0,130", "0.130"),  # a comma after a leading 0 is never a thousands separator
    ("0,5", "0.5"),
    ("1,5", "1.5"),  # not followed by exactly three digits
    ("2,50", "2.50"),
    ("1,2345", "1.2345"),
    ("70,000", "70000"),  # exactly three digits: thousands
    ("1,234,567.5", "1234567.5"),
    ("100k", "100000"),
    ("100K", "100000"),
    ("1.5k", "1500"),
    ("1,5k", "1500"),
    ("2m", "2000000"),
    ("0.5M", "500000"),
    ("$65k", "65000"),
])
def test_levels_are_read_as_traders_write_them(typed: str, level: str) -> None:
    assert parse_level(typed) == Decimal(level)
    assert str(parse_level(typed)) == level  # and shown as typed, without a trailing ".0"


@pytest.mark.parametrize("typed", ["k", "1kk", "1.5km", "100b", "1,00,000", "1e3", "0x10"])
def test_malformed_levels_are_refused(typed: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_level(typed)
    assert caught.value.reason == "bad_level"


def test_a_level_at_the_top_of_the_range_is_refused_with_its_suffix() -> None:
    assert parse_level("99.9m") == Decimal("99900000")
    with pytest.raises(CommandError) as caught:
        parse_level("100m")
    assert caught.value.reason == "level_too_large"


@pytest.mark.parametrize(("level", "current", "asked"), [
    ("1.2345", "0.12345", False),  # exactly 10x: still plausible
    ("1.2346", "0.12345", True),
    ("130", "0.12345", True),
    ("0.012345", "0.12345", False),  # exactly a tenth
    ("0.012344", "0.12345", True),
    ("70000", "64000", False),
])
def test_levels_ten_times_away_either_way_ask_for_confirmation(level: str, current: str, asked: bool) -> None:
    assert needs_confirmation(Decimal(level), Decimal(current)) is asked


@pytest.mark.parametrize(("typed", "reason"), [
    (str(MAX_ALERT_ID + 1), "alert_id_out_of_range"),
    ("99999999999", "alert_id_out_of_range"),
    ("9" * 40, "alert_id_out_of_range"),
    ("0", "alert_id_out_of_range"),
    ("12a", "bad_alert_id"),
    ("١٢", "bad_alert_id"),  # Arabic-Indic digits are digits to Python, not to us
])
def test_alert_ids_outside_the_column_are_refused(typed: str, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_alert_id([typed])
    assert caught.value.reason == reason


def test_the_largest_alert_id_is_accepted() -> None:
    assert parse_alert_id([f"#{MAX_ALERT_ID}"]) == MAX_ALERT_ID


NOW = datetime(2026, 11, 25, 12, 0)


@pytest.mark.parametrize("typed", ["9999-12-31", "9999-12-31T23:59", "0001-01-01T00:00+01:00", "2036-11-26"])
def test_dates_beyond_ten_years_are_refused_with_the_range(typed: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_until(typed, NOW)
    assert caught.value.reason == "until_too_far"


def test_a_date_just_within_ten_years_is_accepted() -> None:
    assert parse_until("2036-11-22", NOW) == datetime(2036, 11, 22, 23, 59, 59)


def test_an_until_with_an_offset_is_stored_in_utc_whatever_the_servers_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_until("2026-12-31T18:00+02:00", NOW) == datetime(2026, 12, 31, 16, 0)
        assert parse_until("2026-12-31T18:00", NOW) == datetime(2026, 12, 31, 18, 0)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_every_range_error_has_a_text_that_names_the_range() -> None:
    for reason in ("until_too_far", "alert_id_out_of_range", "duration_out_of_range", "percent_out_of_range"):
        assert reason in USAGE
        text = Texts().usage_error(reason, "x")
        assert any(ch.isdigit() for ch in text.replace("<code>x</code>", ""))


_words = st.lists(st.text(max_size=12), max_size=8)


@settings(max_examples=400, deadline=None)
@given(_words)
def test_no_text_crashes_a_command_parser(words: list[str]) -> None:
    """Only CommandError may escape: anything else would end in "Something went wrong"."""
    for parse in (parse_alert, parse_alert_id, parse_price_symbols):
        try:
            parse(words)
        except CommandError as exc:
            assert exc.reason in USAGE
    for word in words:
        for parse_one in (parse_level, lambda w: parse_until(w, NOW),
                          lambda w: parse_duration(w, shortest=__import__("datetime").timedelta(minutes=1),
                                                   longest=__import__("datetime").timedelta(days=365))):
            try:
                parse_one(word)
            except CommandError as exc:
                assert exc.reason in USAGE


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["BTCUSDT", "ethusdt", "1000PEPEUSDT"]),
       st.lists(st.sampled_from(["above", "<", ">=", "70000", "0,130", "1.5k", "+5%", "±2%", "3%", "15m", "every",
                                 "1h", "margin", "1%", "for", "365d", "366d", "until", "9999-12-31", "2026-12-31",
                                 "note", "🚀", "<b>", "&"]), max_size=7))
def test_no_alert_command_crashes_the_parser(symbol: str, words: list[str]) -> None:
    try:
        parse_alert([symbol, *words])
    except CommandError as exc:
        assert exc.reason in USAGE
