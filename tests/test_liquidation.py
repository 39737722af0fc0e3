"""`/liq`'s steps (bot.alerts.liquidation): parsing, and that a step's level is exactly where the
mark price comes within its distance, by the crossing rule alerts use."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from bot.alerts.commands import CommandError
from bot.alerts.liquidation import DEFAULT_STEPS, LiqRequest, direction, distance, parse_liq, step_level, within
from bot.crossing import Direction, crossed


@pytest.mark.parametrize(("args", "expected"), [
    ("BTCUSDT long 61234", LiqRequest("BTCUSDT", True, Decimal("61234"))),
    ("btcusdt SHORT 75000.5", LiqRequest("BTCUSDT", False, Decimal("75000.5"))),
    ("BTCUSDT long 61234 at 3% 1%", LiqRequest("BTCUSDT", True, Decimal("61234"), (Decimal(3), Decimal(1)))),
    ("BTCUSDT long 61234 at 1% 3% 1%", LiqRequest("BTCUSDT", True, Decimal("61234"), (Decimal(3), Decimal(1)))),
    ("BTCUSDT long 61234 for 7d", LiqRequest("BTCUSDT", True, Decimal("61234"), expires=timedelta(days=7))),
    ("BTCUSDT short 70000 at 3% FOR 12h",
     LiqRequest("BTCUSDT", False, Decimal("70000"), (Decimal(3),), timedelta(hours=12))),
    ("BTCUSDT long 61234 until 2030-01-31",  # the end of that day, UTC without /timezone
     LiqRequest("BTCUSDT", True, Decimal("61234"), expires=datetime(2030, 1, 31, 23, 59, 59))),
])
def test_liq_arguments_are_read(args: str, expected: LiqRequest) -> None:
    assert parse_liq(args.split()) == expected


@pytest.mark.parametrize(("args", "reason"), [
    ("BTCUSDT", "liq_usage"), ("BTCUSDT long", "liq_usage"), ("BTCUSDT sideways 61234", "liq_usage"),
    ("BTCUSDT long lots", "bad_level"), ("BTCUSDT long 61234 at", "liq_usage"),
    ("BTCUSDT long 61234 at 3", "bad_liq_step"), ("BTCUSDT long 61234 at 60%", "bad_liq_step"),
    ("BTCUSDT long 61234 by 3%", "liq_usage"), ("BTCUSDT long 61234 at 1% 2% 3% 4% 5% 6%", "liq_usage"),
    ("BTCUSDT long 61234 for soon", "bad_duration"), ("BTCUSDT long 61234 at 3% until tomorrow", "bad_until"),
    ("BTCUSDT long 61234 for 7d at 3%", "liq_usage"),
])
def test_bad_liq_arguments_say_how(args: str, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_liq(args.split())
    assert caught.value.reason == reason


def test_default_steps_are_10_5_2_and_levels_lie_between_the_price_and_liquidation() -> None:
    assert DEFAULT_STEPS == (10, 5, 2)
    assert [step_level(True, Decimal("60000"), s) for s in DEFAULT_STEPS] == [66000, 63000, 61200]
    assert [step_level(False, Decimal("60000"), s) for s in DEFAULT_STEPS] == [54000, 57000, 58800]
    assert direction(True) is Direction.DOWN and direction(False) is Direction.UP
    assert distance(True, Decimal("60000"), Decimal("61200")) == Decimal("2.00")
    assert distance(False, Decimal("60000"), Decimal("61200")) == Decimal("-2.00")


prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000000"), places=4)
steps = st.decimals(min_value=Decimal("0.1"), max_value=Decimal("50"), places=1)


@given(st.booleans(), prices, prices, steps)
def test_a_step_fires_exactly_when_the_mark_is_within_its_distance(long: bool, liquidation: Decimal, mark: Decimal,
                                                                   step: Decimal) -> None:
    """The alert a step stores (its level, its direction) fires by the crossing rule exactly when
    the mark price is within `step` % of the liquidation price."""
    level = step_level(long, liquidation, step)
    assert crossed(direction(long), level, mark) == within(long, liquidation, mark, step)


@given(st.booleans(), prices, st.lists(steps, min_size=2, max_size=5, unique=True))
def test_a_nearer_step_is_nearer_liquidation(long: bool, liquidation: Decimal, chosen: list[Decimal]) -> None:
    levels = [step_level(long, liquidation, s) for s in sorted(chosen, reverse=True)]
    assert levels == sorted(levels, reverse=long)
    assert all((level > liquidation) if long else (level < liquidation) for level in levels)


def test_the_edges_of_what_liq_accepts() -> None:
    """Exactly 5 steps and exactly 50 % are allowed; an end from 1 minute to 365 days; `until` is
    read on the chat's clock; a refused step is named in the answer."""
    assert len(parse_liq("BTCUSDT long 100 at 1% 2% 3% 4% 5%".split()).steps) == 5
    assert parse_liq("BTCUSDT long 100 at 50%".split()).steps == (Decimal(50),)
    assert parse_liq("BTCUSDT long 100 for 1m".split()).expires == timedelta(minutes=1)
    assert parse_liq("BTCUSDT long 100 for 365d".split()).expires == timedelta(days=365)
    with pytest.raises(CommandError) as caught:
        parse_liq("BTCUSDT long 100 for 366d".split())
    assert caught.value.reason == "duration_out_of_range"
    kathmandu = ZoneInfo("Asia/Kathmandu")  # +05:45
    assert parse_liq("BTCUSDT long 100 until 2030-01-31T12:00".split(), kathmandu).expires == datetime(2030, 1, 31, 6, 15)
    for words, value in (("at 3", "3"), ("at 50.5%", "50.5%")):
        with pytest.raises(CommandError) as caught:
            parse_liq(f"BTCUSDT long 100 {words}".split())
        assert (caught.value.reason, caught.value.value) == ("bad_liq_step", value)


def test_a_step_is_within_exactly_at_its_level_and_not_a_tick_before() -> None:
    assert within(True, Decimal("60000"), Decimal("66000"), Decimal(10))
    assert not within(True, Decimal("60000"), Decimal("66000.01"), Decimal(10))
    assert within(False, Decimal("60000"), Decimal("54000"), Decimal(10))
    assert not within(False, Decimal("60000"), Decimal("53999.99"), Decimal(10))
