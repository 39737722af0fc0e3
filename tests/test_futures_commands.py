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
