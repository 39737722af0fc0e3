"""Reading /alert, /delete and /price arguments."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from bot.alerts.commands import (
    AlertRequest, CommandError, parse_alert, parse_alert_id, parse_level, parse_price_symbols,
)
from bot.alerts.rules import Direction


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("BTCUSDT 70000", AlertRequest("BTCUSDT", Decimal("70000"), None, "")),
        ("btcusdt 70000.50", AlertRequest("BTCUSDT", Decimal("70000.50"), None, "")),
        ("ETHUSDT below 2500 buy the dip", AlertRequest("ETHUSDT", Decimal("2500"), Direction.DOWN, "buy the dip")),
        ("ETHUSDT ABOVE 2500", AlertRequest("ETHUSDT", Decimal("2500"), Direction.UP, "")),
        ("ETHUSDT > 2500", AlertRequest("ETHUSDT", Decimal("2500"), Direction.UP, "")),
        ("ETHUSDT >= 2500", AlertRequest("ETHUSDT", Decimal("2500"), Direction.UP, "")),
        ("ETHUSDT < 2500", AlertRequest("ETHUSDT", Decimal("2500"), Direction.DOWN, "")),
        ("ETHUSDT <=2500", AlertRequest("ETHUSDT", Decimal("2500"), Direction.DOWN, "")),
        ("ETHUSDT >2500 note", AlertRequest("ETHUSDT", Decimal("2500"), Direction.UP, "note")),
        ("1000pepeusdt 0.0000123", AlertRequest("1000PEPEUSDT", Decimal("0.0000123"), None, "")),
        ("btcusdt_261225 71000", AlertRequest("BTCUSDT_261225", Decimal("71000"), None, "")),
        ("币安人生usdt 0.5", AlertRequest("币安人生USDT", Decimal("0.5"), None, "")),
        ("BTCUSDT 70,000", AlertRequest("BTCUSDT", Decimal("70000"), None, "")),
        ("BTCUSDT 1,234,567.5", AlertRequest("BTCUSDT", Decimal("1234567.5"), None, "")),
        ("ETHUSDT 2500,5", AlertRequest("ETHUSDT", Decimal("2500.5"), None, "")),
        ("BTCUSDT $70000", AlertRequest("BTCUSDT", Decimal("70000"), None, "")),
        ("BTC/USDT .5", AlertRequest("BTCUSDT", Decimal("0.5"), None, "")),
        ("BTCUSDT 70000 <b>moon</b> & more", AlertRequest("BTCUSDT", Decimal("70000"), None, "<b>moon</b> & more")),
    ],
)
def test_alert_arguments_are_read(args: str, expected: AlertRequest) -> None:
    assert parse_alert(args.split()) == expected


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ("", "alert_usage"),
        ("BTCUSDT", "alert_usage"),
        ("BTCUSDT above", "alert_usage"),
        ("BTCUSDT abc", "bad_level"),
        ("BTCUSDT -5", "bad_level"),
        ("BTCUSDT 0", "level_not_positive"),
        ("BTCUSDT 0.000", "level_not_positive"),
        ("BTCUSDT NaN", "bad_level"),
        ("BTCUSDT Infinity", "bad_level"),
        ("BTCUSDT 1e5", "bad_level"),
        ("BTCUSDT 1.2.3", "bad_level"),
        ("BTCUSDT ٣٠٠", "bad_level"),
        ("BTCUSDT 100000000", "level_too_large"),
        ("BTCUSDT 0.00000000001", "level_too_precise"),
        ("BTC<b>USDT 5", "bad_symbol"),
        ("BTCUSDT 5 " + "x" * 201, "note_too_long"),
    ],
)
def test_bad_alert_arguments_get_a_reason(args: str, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_alert(args.split())
    assert caught.value.reason == reason


@given(st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("99999999"), places=10))
def test_any_storable_level_reads_back_exactly(level: Decimal) -> None:
    assert parse_level(f"{level:f}") == level


@given(st.lists(st.text(max_size=30), max_size=6))
def test_alert_parsing_never_crashes(args: list[str]) -> None:
    try:
        request = parse_alert(args)
    except CommandError:
        return
    assert request.level > 0 and request.symbol


@pytest.mark.parametrize(("args", "expected"), [(["12"], 12), (["#7"], 7)])
def test_delete_takes_an_alert_number(args: list[str], expected: int) -> None:
    assert parse_alert_id(args) == expected


@pytest.mark.parametrize("args", [[], ["x"], ["1", "2"], ["-1"], ["１２"], ["9" * 30]])
def test_delete_refuses_what_is_not_an_alert_number(args: list[str]) -> None:
    with pytest.raises(CommandError):
        parse_alert_id(args)


def test_price_takes_symbols_separated_by_spaces_or_commas() -> None:
    assert parse_price_symbols(["btcusdt,ethusdt", "BTCUSDT", "1000pepeusdt"]) == ["BTCUSDT", "ETHUSDT", "1000PEPEUSDT"]


def test_price_refuses_too_many_symbols() -> None:
    with pytest.raises(CommandError) as caught:
        parse_price_symbols([f"S{i}USDT" for i in range(11)])
    assert caught.value.reason == "too_many_symbols"


@pytest.mark.parametrize(
    ("text", "percent", "both"),
    [("+5%", Decimal("5"), False), ("-3%", Decimal("-3"), False), ("±2%", Decimal("2"), True),
     ("+-2.5%", Decimal("2.5"), True), ("+0.01%", Decimal("0.01"), False)],
)
def test_percent_moves_are_read(text: str, percent: Decimal, both: bool) -> None:
    request = parse_alert(["BTCUSDT", text])
    assert (request.level, request.percent, request.both_ways) == (None, percent, both)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("5%", "bad_percent"), ("+%", "bad_percent"), ("+x%", "bad_percent"), ("-100%", "percent_out_of_range"),
     ("+0%", "percent_out_of_range"), ("+1001%", "percent_out_of_range")],
)
def test_bad_percent_moves_get_a_reason(text: str, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_alert(["BTCUSDT", text])
    assert caught.value.reason == reason


def test_options_come_after_the_level_and_the_rest_is_the_note() -> None:
    request = parse_alert("BTCUSDT 70000 every 4h margin 1% for 2d break out".split())
    assert request.repeat == timedelta(hours=4) and request.margin == Decimal("1")
    assert request.expires == timedelta(days=2) and request.note == "break out"
    request = parse_alert("BTCUSDT 70000 until 2026-12-31 note".split())
    assert request.expires == datetime(2026, 12, 31, 23, 59, 59)
    request = parse_alert("BTCUSDT 70000 until 2026-12-31T18:00+02:00".split())
    assert request.expires == datetime(2026, 12, 31, 16, 0)
    assert parse_alert("BTCUSDT 70000 for a friend".split()).note == "for a friend"  # not a duration...


@pytest.mark.parametrize(
    ("args", "reason"),
    [("BTCUSDT 70000 every 30s", "bad_duration"), ("BTCUSDT 70000 every 8d", "duration_out_of_range"),
     ("BTCUSDT 70000 for 400d", "duration_out_of_range"), ("BTCUSDT 70000 until 2026-13-45", "bad_until"),
     ("BTCUSDT 70000 margin 1%", "margin_without_every"), ("BTCUSDT 70000 every 1h margin 60%", "bad_margin"),
     ("BTCUSDT 70000 for 1d until 2026-12-31", "option_twice"), ("BTCUSDT above +5%", "percent_with_direction")],
)
def test_bad_options_get_a_reason(args: str, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_alert(args.split())
    assert caught.value.reason == reason
