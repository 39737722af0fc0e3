"""Reading mark and index alerts: `/alert SYMBOL mark|index ...` (bot.alerts.commands)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from bot.alerts.commands import AlertRequest, CommandError, parse_alert
from bot.alerts.rules import Direction
from bot.sources import PriceSource

MARK, INDEX, LAST = PriceSource.MARK, PriceSource.INDEX, PriceSource.LAST


@pytest.mark.parametrize(("args", "expected"), [
    ("BTCUSDT mark 70000", AlertRequest("BTCUSDT", Decimal("70000"), None, "", source=MARK)),
    ("BTCUSDT MARK 70000", AlertRequest("BTCUSDT", Decimal("70000"), None, "", source=MARK)),
    ("btcusdt index 70000", AlertRequest("BTCUSDT", Decimal("70000"), None, "", source=INDEX)),
    ("BTCUSDT mark below 65000 every 1h margin 1% stop", AlertRequest(
        "BTCUSDT", Decimal("65000"), Direction.DOWN, "stop", repeat=timedelta(hours=1), margin=Decimal("1"),
        source=MARK)),
    ("BTCUSDT mark >70000 for 1d", AlertRequest("BTCUSDT", Decimal("70000"), Direction.UP, "",
                                                expires=timedelta(days=1), source=MARK)),
    ("BTCUSDT mark -3%", AlertRequest("BTCUSDT", None, None, "", percent=Decimal("-3"), source=MARK)),
    ("BTCUSDT index ±2%", AlertRequest("BTCUSDT", None, None, "", percent=Decimal("2"), both_ways=True, source=INDEX)),
    ("BTCUSDT 70000 mark", AlertRequest("BTCUSDT", Decimal("70000"), None, "mark")),  # a note, the last price
    ("MARKUSDT 1.5", AlertRequest("MARKUSDT", Decimal("1.5"), None, "")),
])
def test_mark_and_index_alerts_are_read(args: str, expected: AlertRequest) -> None:
    assert parse_alert(args.split()) == expected


@pytest.mark.parametrize(("args", "reason"), [
    ("BTCUSDT mark", "source_usage"),
    ("BTCUSDT index", "source_usage"),
    ("BTCUSDT mark 3% 15m", "source_with_move"),
    ("BTCUSDT mark lots", "bad_level"),
    ("BTCUSDT mark mark 70000", "bad_level"),
])
def test_bad_mark_alerts_say_how(args: str, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_alert(args.split())
    assert caught.value.reason == reason


@given(st.sampled_from(["mark", "index", "Mark", "INDEX"]),
       st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("99999999"), places=10),
       st.sampled_from(["", "above", "below", ">", "<="]), st.sampled_from(["", "every 1h", "for 2d", "every 5m margin 2%"]))
def test_a_source_word_changes_only_the_source(word: str, level: Decimal, operator: str, options: str) -> None:
    """`SYMBOL mark REST` means what `SYMBOL REST` means, on the mark (or index) price."""
    rest = f"{operator} {level:f} {options}".split()
    plain = parse_alert(["BTCUSDT", *rest])
    sourced = parse_alert(["BTCUSDT", word, *rest])
    assert plain.source is LAST
    assert sourced == AlertRequest(**{**plain.__dict__, "source": PriceSource(word.lower())})


FUNDING = PriceSource.FUNDING


@pytest.mark.parametrize(("args", "expected"), [
    ("BTCUSDT funding above 0.05%", AlertRequest("BTCUSDT", Decimal("0.05"), Direction.UP, "", source=FUNDING)),
    ("BTCUSDT funding below -0.01%", AlertRequest("BTCUSDT", Decimal("-0.01"), Direction.DOWN, "", source=FUNDING)),
    ("BTCUSDT FUNDING > 0.1 for 1d carry", AlertRequest("BTCUSDT", Decimal("0.1"), Direction.UP, "carry",
                                                        expires=timedelta(days=1), source=FUNDING)),
    ("BTCUSDT funding below 0", AlertRequest("BTCUSDT", Decimal("0"), Direction.DOWN, "", source=FUNDING)),
])
def test_funding_alerts_are_read(args: str, expected: AlertRequest) -> None:
    assert parse_alert(args.split()) == expected


@pytest.mark.parametrize(("args", "reason"), [
    ("BTCUSDT funding", "funding_usage"),
    ("BTCUSDT funding 0.05%", "funding_usage"),  # which way?
    ("BTCUSDT funding above", "funding_usage"),
    ("BTCUSDT funding above lots", "bad_funding"),
    ("BTCUSDT funding above 11%", "bad_funding"),
    ("BTCUSDT funding above 0.0000001%", "bad_funding"),
    ("BTCUSDT funding above 0.05% every 8h", "funding_usage"),
])
def test_bad_funding_alerts_say_how(args: str, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_alert(args.split())
    assert caught.value.reason == reason


@given(st.decimals(min_value=Decimal("-10"), max_value=Decimal("10"), places=4), st.sampled_from(["above", "below"]),
       st.booleans())
def test_any_funding_rate_in_range_reads_back_exactly(rate: Decimal, word: str, percent_sign: bool) -> None:
    request = parse_alert(["BTCUSDT", "funding", word, f"{rate:f}" + ("%" if percent_sign else "")])
    assert request.level == rate and request.source is FUNDING
    assert request.direction is (Direction.UP if word == "above" else Direction.DOWN)


@pytest.mark.parametrize(("args", "expected"), [
    ("BTCUSDT funding 15m before", AlertRequest("BTCUSDT", Decimal("900"), Direction.DOWN, "",
                                                source=PriceSource.FUNDING_BEFORE)),
    ("BTCUSDT funding 1h before every close hedge", AlertRequest(
        "BTCUSDT", Decimal("3600"), Direction.DOWN, "close hedge", repeat=timedelta(minutes=1),
        source=PriceSource.FUNDING_BEFORE)),
])
def test_funding_reminders_are_read(args: str, expected: AlertRequest) -> None:
    assert parse_alert(args.split()) == expected


@pytest.mark.parametrize(("args", "reason"), [
    ("BTCUSDT funding 5h before", "duration_out_of_range"), ("BTCUSDT funding 15x before", "bad_duration"),
])
def test_bad_funding_reminders_say_how(args: str, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_alert(args.split())
    assert caught.value.reason == reason
