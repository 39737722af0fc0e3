"""The extremes tracker: what a kline update tells about the highest and lowest trade since the last check."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.extremes import Extremes, ExtremesTracker

MINUTE = 60_000
D = Decimal


def summary(tracker: ExtremesTracker) -> dict[str, tuple[object, ...]]:
    """take(), each symbol's (high, high_at, low, low_at)."""
    return {symbol: tuple(extremes[:4]) for symbol, extremes in tracker.take().items()}


def test_first_update_after_subscribing_is_a_baseline() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "70500", "69000", 1.0)  # the minute's wick may predate us
    assert tracker.take() == {}


def test_a_rising_high_within_the_bar_is_reported_with_the_time_it_was_seen() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "70000", "69900", 1.0)
    tracker.update("BTCUSDT", 0, "70012.5", "69900", 1.25)
    tracker.update("BTCUSDT", 0, "70012.5", "69900", 1.5)
    assert summary(tracker) == {"BTCUSDT": (D("70012.5"), 1.25, None, None)}


def test_a_falling_low_within_the_bar_is_reported() -> None:
    tracker = ExtremesTracker()
    tracker.update("ETHUSDT", 0, "2600", "2500", 1.0)
    tracker.update("ETHUSDT", 0, "2600", "2490.5", 2.0)
    assert summary(tracker) == {"ETHUSDT": (None, None, D("2490.5"), 2.0)}


def test_a_new_bar_reports_its_high_and_low() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "70000", "69000", 1.0)
    tracker.update("BTCUSDT", MINUTE, "69500", "69400", 61.0)
    assert summary(tracker) == {"BTCUSDT": (D("69500"), 61.0, D("69400"), 61.0)}


def test_take_starts_a_new_interval() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "100", "90", 1.0)
    tracker.update("BTCUSDT", 0, "110", "90", 2.0)
    assert tracker.take()["BTCUSDT"].high == D("110")
    assert tracker.take() == {}
    tracker.update("BTCUSDT", 0, "110", "90", 3.0)  # same high again: nothing new
    assert tracker.take() == {}


def test_the_highest_of_several_rises_is_kept_with_its_first_sighting() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "100", "90", 1.0)
    tracker.update("BTCUSDT", 0, "105", "90", 2.0)
    tracker.update("BTCUSDT", 0, "103", "90", 2.5)  # cannot happen within a bar, but is no news
    tracker.update("BTCUSDT", MINUTE, "104", "99", 61.0)  # a new bar lower than the interval's high
    assert summary(tracker) == {"BTCUSDT": (D("105"), 2.0, D("99"), 61.0)}


def test_resubscribing_makes_the_next_update_a_baseline_again() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "100", "90", 1.0)
    tracker.baseline("BTCUSDT")
    tracker.update("BTCUSDT", 0, "120", "80", 5.0)  # trades made while we were not subscribed
    assert tracker.take() == {}


def test_highs_since_any_arming_time_are_kept() -> None:
    """An alert armed between two wicks of one interval is reached by the later, lower one."""
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "100", "90", 1.0)
    tracker.update("BTCUSDT", 0, "110", "90", 2.0)  # before the alert was armed at 3.0
    tracker.update("BTCUSDT", MINUTE, "105", "104", 61.0)  # a new bar, lower, after
    tracker.update("BTCUSDT", MINUTE, "106", "103", 61.5)
    extremes = tracker.take()["BTCUSDT"]
    assert extremes.highs == ((D("110"), 2.0), (D("106"), 61.5))
    assert extremes.high_since(0.0) == D("110") and extremes.high_since(3.0) == D("106")
    assert extremes.high_since(62.0) is None
    assert extremes.lows == ((D("103"), 61.5),) and extremes.low_since(61.0) == D("103")


def test_a_late_update_of_an_older_bar_is_ignored() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", MINUTE, "100", "90", 61.0)
    tracker.update("BTCUSDT", 0, "130", "70", 61.2)
    assert tracker.take() == {}


def test_a_forgotten_symbol_reports_nothing() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "100", "90", 1.0)
    tracker.update("BTCUSDT", 0, "110", "90", 2.0)
    tracker.forget("BTCUSDT")
    assert tracker.take() == {}


# -- property: the tracker against a model of Binance's kline pushes --------------------------

PUSH = 250  # ms between pushes


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[tuple[int, int]], int, list[int]]:
    """Trades (ms, price) over about three minutes, a subscription time and check times."""
    times = sorted(draw(st.lists(st.integers(0, 3 * MINUTE), min_size=1, max_size=60)))
    trades = [(t, draw(st.integers(90, 110))) for t in times]
    subscribed = draw(st.integers(0, 3 * MINUTE))
    checks = sorted(set(draw(st.lists(st.integers(0, 3 * MINUTE + 2 * PUSH), max_size=12)))) + [10 * MINUTE]
    return trades, subscribed, checks


def pushes(trades: list[tuple[int, int]], subscribed: int) -> list[tuple[int, int, int, int]]:
    """What Binance sends after `subscribed`: every 250 ms, the current bar if it changed
    (and the rest of the previous bar first): (push time, bar start, high, low)."""
    sent: dict[int, tuple[int, int, int]] = {}
    out = []
    first = (subscribed // PUSH + 1) * PUSH
    for push in range(first, 4 * MINUTE, PUSH):
        bars: dict[int, list[int]] = {}
        for t, price in trades:
            if t <= push:
                bars.setdefault(t // MINUTE * MINUTE, []).append(price)
        if not bars:
            continue
        starts = sorted(bars) if sent else [max(bars)]
        for start in starts[-2:]:
            state = (max(bars[start]), min(bars[start]), len(bars[start]))
            if start < max(sent, default=0) or sent.get(start) == state:
                continue
            sent[start] = state
            out.append((push, start, state[0], state[1]))
    return out


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.integers(90, 110))
def test_an_extreme_reaches_a_level_iff_a_new_trade_after_the_baseline_reached_it(
    scenario: tuple[list[tuple[int, int]], int, list[int]], level: int,
) -> None:
    """A trade is news when it came after the baseline update and went beyond what its minute had
    shown at the update before its own (a wick); it is reported in the interval its update lands in."""
    trades, subscribed, checks = scenario
    sent = pushes(trades, subscribed)
    tracker = ExtremesTracker()
    reported: list[dict[str, Extremes]] = []
    queue = list(sent)
    for check in checks:
        while queue and queue[0][0] <= check:
            push, start, high, low = queue.pop(0)
            tracker.update("X", start, str(high), str(low), push / 1000)
        reported.append(tracker.take())
    if not sent:
        assert all(r == {} for r in reported)
        return
    baseline = sent[0][0]

    def shown_before(trade_time: int, push: int) -> list[int]:
        """Prices of the trade's bar that an update before `push` had already shown."""
        start = trade_time // MINUTE * MINUTE
        return [p for t, p in trades if t // MINUTE * MINUTE == start and t <= push - PUSH]

    bounds = [-1, *checks]
    for i, extremes in enumerate(reported):
        news_highs, news_lows = [], []
        for t, price in trades:
            push = (t // PUSH + (t % PUSH > 0)) * PUSH  # the update that carries it
            if t <= baseline or not bounds[i] < push <= bounds[i + 1]:
                continue
            earlier = shown_before(t, push)
            if not earlier or price > max(earlier):
                news_highs.append(price)
            if not earlier or price < min(earlier):
                news_lows.append(price)
        got = extremes.get("X", Extremes(None, None, None, None))
        assert (got.high is not None and got.high >= level) == any(p >= level for p in news_highs)
        assert (got.low is not None and got.low <= level) == any(p <= level for p in news_lows)


def test_extremes_given_back_after_a_failed_tick_are_seen_by_the_next_one() -> None:
    from decimal import Decimal

    from bot.alerts.extremes import ExtremesTracker

    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "100", "100", 1.0)  # the baseline of the bar
    tracker.update("BTCUSDT", 0, "105", "99", 2.0)  # a wick both ways
    taken = tracker.take()
    tracker.update("BTCUSDT", 0, "106", "99", 3.0)  # meanwhile the high rose again
    tracker.give_back(taken)  # the tick that took them failed
    again = tracker.take()["BTCUSDT"]
    assert (again.high, again.high_at, again.low, again.low_at) == (Decimal("106"), 3.0, Decimal("99"), 2.0)
    assert again.highs == ((Decimal("106"), 3.0),)
