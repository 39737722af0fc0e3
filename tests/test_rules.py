"""Which way an alert waits, when it fires, and which symbol a user meant."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from bot.alerts.rules import (
    LEVEL_DIRECTIONS, Direction, crossed, direction_for, distance_percent, has_gone_back, level_from_percent, rearm_level,
)
from bot.symbols import normalize_symbol, suggest

KNOWN = ["BTCUSDT", "BTCUSDC", "BTCDOMUSDT", "BTCUSDT_261225", "ETHUSDT", "ETHBTC", "1INCHUSDT",
         "1000PEPEUSDT", "币安人生USDT", "XAUUSDT"]
prices = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("100000"), places=8)


@pytest.mark.parametrize(
    ("level", "current", "direction"),
    [("70000", "64000", Direction.UP), ("60000", "64000", Direction.DOWN), ("64000", "64000", Direction.DOWN)],
)
def test_direction_comes_from_the_current_price(level: str, current: str, direction: Direction) -> None:
    assert direction_for(Decimal(level), Decimal(current)) is direction


@pytest.mark.parametrize(
    ("direction", "level", "price", "fires"),
    [
        (Direction.UP, "65000", "64999.99", False),
        (Direction.UP, "65000", "65000.00", True),
        (Direction.UP, "65000", "65000.01", True),
        (Direction.DOWN, "0.1", "0.10000001", False),
        (Direction.DOWN, "0.1", "0.1", True),
        (Direction.DOWN, "0.1", "0.09", True),
    ],
)
def test_alert_fires_when_price_reaches_level(direction: Direction, level: str, price: str, fires: bool) -> None:
    assert crossed(direction, Decimal(level), Decimal(price)) is fires


@given(level=prices, current=prices, later=prices)
def test_new_alert_never_fires_at_the_price_it_was_made_unless_equal(level: Decimal, current: Decimal, later: Decimal) -> None:
    direction = direction_for(level, current)
    assert crossed(direction, level, current) is (current == level)
    # Firing means the price moved to the level's side: the level lies between current and later.
    if crossed(direction, level, later) and later != level:
        assert min(current, later) <= level <= max(current, later)


def test_distance_is_signed_percent_of_price() -> None:
    assert distance_percent(Decimal("70000"), Decimal("64000")) == Decimal("9.38")
    assert distance_percent(Decimal("60000"), Decimal("64000")) == Decimal("-6.25")


@pytest.mark.parametrize(
    ("typed", "symbol"),
    [("btcusdt", "BTCUSDT"), (" $ethusdt ", "ETHUSDT"), ("BTC/USDT", "BTCUSDT"), ("1inchusdt", "1INCHUSDT"),
     ("btcusdt_261225", "BTCUSDT_261225"), ("币安人生usdt", "币安人生USDT"), ("<b>", None), ("", None), ("A" * 41, None)],
)
def test_symbols_are_read_case_insensitively(typed: str, symbol: str | None) -> None:
    assert normalize_symbol(typed) == symbol


def test_suggestions_put_usdt_perpetuals_first() -> None:
    assert suggest("btc", KNOWN)[:2] == ["BTCUSDT", "BTCDOMUSDT"]
    assert set(suggest("btc", KNOWN)) <= set(KNOWN) and "BTCUSDC" in suggest("btc", KNOWN)


def test_suggestions_catch_typos_and_names_inside() -> None:
    assert "ETHUSDT" in suggest("ETHUSTD", KNOWN)
    assert suggest("pepe", KNOWN) == ["1000PEPEUSDT"]
    assert suggest("币安", KNOWN) == ["币安人生USDT"]
    assert suggest("ZZZZZZ", KNOWN) == []


@pytest.mark.parametrize(
    ("current", "percent", "level"),
    [("64000.10", "5", "67200.10"),  # 67200.105, half to even ("64000.10", "-3", "62080.10"), ("0.0123450", "2", "0.0125919"),
     ("28549.0", "0.01", "28551.9")],
)
def test_percent_level_keeps_the_price_step(current: str, percent: str, level: str) -> None:
    assert str(level_from_percent(Decimal(current), Decimal(percent))) == level


def test_rearm_level_sits_the_margin_behind_the_level() -> None:
    assert rearm_level(Direction.UP, Decimal("70000"), Decimal("0.5")) == Decimal("69650")
    assert rearm_level(Direction.DOWN, Decimal("2500"), Decimal("1")) == Decimal("2525")
    assert has_gone_back(Direction.UP, Decimal("69650"), Decimal("69650"))
    assert not has_gone_back(Direction.UP, Decimal("69650"), Decimal("69650.01"))


@given(price=prices, margin=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=2))
def test_a_repeating_alert_cannot_re_arm_where_it_fires(price: Decimal, margin: Decimal) -> None:
    for direction in LEVEL_DIRECTIONS:
        back = rearm_level(direction, price, margin)
        # At the re-arm level the price has gone back and does not fire; at the level it has not gone back.
        assert has_gone_back(direction, back, back) and not crossed(direction, price, back)
        assert crossed(direction, price, price) and not has_gone_back(direction, back, price)
        assert (back < price) if direction is Direction.UP else (back > price)
