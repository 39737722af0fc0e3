"""Moves within a window: the largest rise or fall of the last N minutes, with bounded memory."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, strategies as st

from bot.alerts.moves import MoveTracker

WINDOW = [("BTCUSDT", 900)]


def feed(tracker: MoveTracker, series: list[tuple[float, str]], windows=WINDOW):  # noqa: ANN001, ANN201
    moves = {}
    for now, price in series:
        moves = tracker.observe(now, {"BTCUSDT": Decimal(price)}, windows)
    return moves


def test_a_rise_within_the_window_is_measured_from_its_low() -> None:
    tracker = MoveTracker()
    tracker.watch(WINDOW)
    move = feed(tracker, [(0, "100"), (300, "98"), (600, "101.92")])[("BTCUSDT", 900)]
    assert move.rising and move.reference == Decimal("98") and move.percent == Decimal("4")


def test_a_fall_is_measured_from_the_high_and_old_prices_leave_the_window() -> None:
    tracker = MoveTracker()
    tracker.watch(WINDOW)
    move = feed(tracker, [(0, "200"), (100, "100"), (1000, "104"), (1100, "101.92")])[("BTCUSDT", 900)]
    # 200 is older than 15 minutes at t=1100; the high since t=200 is 104
    assert not move.rising and move.reference == Decimal("104") and move.percent == Decimal("2")


@given(st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000"), places=2), min_size=1, max_size=80),
       st.integers(min_value=1, max_value=30))
def test_moves_match_a_brute_force_over_the_window(prices: list[Decimal], window_ticks: int) -> None:
    tracker = MoveTracker()
    windows = [("BTCUSDT", window_ticks * 2)]
    tracker.watch(windows)
    for tick, price in enumerate(prices):
        now = tick * 2.0
        move = tracker.observe(now, {"BTCUSDT": price}, windows)[("BTCUSDT", window_ticks * 2)]
        recent = [p for t, p in enumerate(prices[:tick + 1]) if t * 2.0 >= now - window_ticks * 2]
        rise = (price - min(recent)) * 100 / min(recent)
        fall = (max(recent) - price) * 100 / max(recent)
        assert move.percent == max(rise, fall)


def test_memory_is_bounded_by_the_window_even_in_a_long_trend() -> None:
    tracker = MoveTracker()
    tracker.watch(WINDOW)
    for tick in range(5000):  # a steady rise for almost 3 hours at 2 s ticks
        tracker.observe(tick * 2.0, {"BTCUSDT": Decimal(100 + tick)}, WINDOW)
    assert tracker.size() <= 900 // 2 + 2


def test_only_watched_symbols_are_kept() -> None:
    tracker = MoveTracker()
    tracker.watch(WINDOW)
    tracker.observe(0, {"BTCUSDT": Decimal(1), "ETHUSDT": Decimal(2)}, WINDOW)
    tracker.watch([])
    assert tracker.size() == 0
