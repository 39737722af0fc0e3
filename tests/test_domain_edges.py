"""Edges of the pure domain code (bot/alerts): each limit at its edge and one past it, each error's
reason *and* value, and the behaviours mutation testing (`mutmut run`, see the README) showed no
unit test would notice if they changed."""

from __future__ import annotations

import decimal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.alerts import moves
from bot.alerts.commands import (
    MAX_UNTIL,
    AlertRequest,
    CommandError,
    parse_alert,
    parse_alert_id,
    parse_duration,
    parse_level,
    parse_percent_move,
    parse_price_symbols,
    parse_until,
)
from bot.alerts.delisting import GoneSymbols
from bot.alerts.extremes import ExtremesTracker
from bot.alerts.moves import MoveTracker
from bot.alerts.rules import Direction, level_from_percent, rearm_level, rearm_threshold
from bot.texts import Texts

D = Decimal
NOW = datetime(2026, 11, 25, 12, 0)
MINUTE_MS = 60_000


def refused(parse: Callable[..., object], *args: object) -> CommandError:
    with pytest.raises(CommandError) as caught:
        parse(*args)
    return caught.value


def alert(text: str) -> AlertRequest:
    return parse_alert(text.split())


# -- the forms of /alert -----------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "direction"), [
    ("<70000", Direction.DOWN), ("<=70000", Direction.DOWN), (">70000", Direction.UP), (">=70000", Direction.UP),
])
def test_an_operator_touching_the_price_sets_the_direction(typed: str, direction: Direction) -> None:
    request = alert(f"BTCUSDT {typed} take profit")
    assert (request.level, request.direction, request.note) == (D("70000"), direction, "take profit")


def test_a_percent_with_a_window_is_a_move_alert_not_a_price_level() -> None:
    request = alert("BTCUSDT 3% 15m")
    assert (request.level, request.window, request.direction) == (D("3"), timedelta(minutes=15), Direction.EITHER)
    assert (request.percent, request.note, request.repeat) == (None, "", None)
    request = alert("BTCUSDT 2.5% 1h every 4h pump or dump")
    assert (request.level, request.window, request.repeat) == (D("2.5"), timedelta(hours=1), timedelta(hours=4))
    assert request.note == "pump or dump"


@pytest.mark.parametrize(("typed", "level"), [("0.1%", "0.1"), ("100%", "100")])
def test_a_move_percent_at_either_end_of_its_range_is_accepted(typed: str, level: str) -> None:
    assert alert(f"BTCUSDT {typed} 15m").level == D(level)


@pytest.mark.parametrize(("window", "length"), [("1m", timedelta(minutes=1)), ("24h", timedelta(hours=24))])
def test_a_move_window_at_either_end_of_its_range_is_accepted(window: str, length: timedelta) -> None:
    assert alert(f"BTCUSDT 3% {window}").window == length


@pytest.mark.parametrize(("typed", "percent", "both"), [
    ("-+2%", D("2"), True), ("+1000%", D("1000"), False), ("-99.99%", D("-99.99"), False), ("+0.01%", D("0.01"), False),
])
def test_percent_moves_at_their_edges(typed: str, percent: Decimal, both: bool) -> None:
    assert parse_percent_move(typed) == (percent, both)


@pytest.mark.parametrize(("typed", "level"), [
    ("70_000", "70000"),  # digit groups the Python way
    ("70000.0", "70000.0"),  # without a suffix the level keeps the digits typed
])
def test_levels_keep_what_was_typed(typed: str, level: str) -> None:
    assert str(parse_level(typed)) == level


def test_a_level_with_ten_decimals_is_accepted_and_with_eleven_refused() -> None:
    assert parse_level("0.0000000001") == D("1e-10")
    error = refused(parse_level, "0.00000000011")
    assert (error.reason, error.value) == ("level_too_precise", "0.00000000011")


def test_levels_at_the_ends_of_the_range() -> None:
    assert parse_level("99999999.9999999999") == D("99999999.9999999999")
    assert (refused(parse_level, "100000000").reason, refused(parse_level, "0").reason) == (
        "level_too_large", "level_not_positive")


def test_a_note_of_200_characters_is_kept_and_one_of_201_refused() -> None:
    assert alert("BTCUSDT 70000 " + "n" * 200).note == "n" * 200
    error = refused(alert, "BTCUSDT 70000 " + "n" * 201)
    assert (error.reason, error.value) == ("note_too_long", "200")


@pytest.mark.parametrize(("option", "field", "value"), [
    ("every 1m", "repeat", timedelta(minutes=1)),
    ("every 7d", "repeat", timedelta(days=7)),
    ("every 90min", "repeat", timedelta(minutes=90)),
    ("every 1w", "repeat", timedelta(weeks=1)),
    ("for 1m", "expires", timedelta(minutes=1)),
    ("for 365d", "expires", timedelta(days=365)),
    ("for 2w", "expires", timedelta(weeks=2)),
    ("every 1h margin 50%", "margin", D("50")),
    ("every 1h margin 0.01%", "margin", D("0.01")),
])
def test_options_at_the_edges_of_their_ranges_are_accepted(option: str, field: str, value: object) -> None:
    assert getattr(alert(f"BTCUSDT 70000 {option} note"), field) == value


def test_ten_symbols_for_price_are_accepted_and_eleven_refused() -> None:
    ten = [f"S{i}USDT" for i in range(10)]
    assert parse_price_symbols(ten) == ten
    error = refused(parse_price_symbols, [*ten, "EXTRAUSDT"])
    assert (error.reason, error.value) == ("too_many_symbols", "10")


def test_the_first_and_the_largest_alert_numbers_are_accepted() -> None:
    assert parse_alert_id(["1"]) == 1 and parse_alert_id(["#1"]) == 1
    assert parse_alert_id(["0000000012"]) == 12  # ten digits are looked at


# -- every refusal says why and about what (a None value would break the reply) ---------------

_over = "n" * 201
_REFUSALS = [
    (alert, "BTCUSDT", "alert_usage", ""),
    (alert, "BTCUSDT above", "alert_usage", ""),
    (alert, "BTC<b>USDT 5", "bad_symbol", "BTC<b>USDT"),
    (alert, "BTCUSDT X5", "bad_level", "X5"),
    (alert, "BTCUSDT 0", "level_not_positive", "0"),
    (alert, "BTCUSDT 100m", "level_too_large", "100m"),
    (alert, "BTCUSDT 0.00000000001", "level_too_precise", "0.00000000001"),
    (alert, "BTCUSDT above 3% 15m", "bad_percent", "3%"),
    (alert, "BTCUSDT 3%", "bad_percent", "3%"),
    (alert, "BTCUSDT 0.09% 15m", "percent_out_of_range", "0.09%"),
    (alert, "BTCUSDT 100.01% 15m", "percent_out_of_range", "100.01%"),
    (alert, "BTCUSDT 3% 59s", "bad_duration", "59s"),
    (alert, "BTCUSDT 3% 0m", "duration_out_of_range", "0m"),
    (alert, "BTCUSDT 3% 25h", "duration_out_of_range", "25h"),
    (alert, "BTCUSDT 3% 15m every 1h margin 1%", "margin_with_move", ""),
    (alert, "BTCUSDT above +5%", "percent_with_direction", "+5%"),
    (alert, "BTCUSDT .5%", "bad_percent", ".5%"),
    (alert, "BTCUSDT +X5%", "bad_percent", "+X5%"),
    (alert, "BTCUSDT +٥%", "bad_percent", "+٥%"),  # digits other than 0-9 are refused everywhere
    (alert, "BTCUSDT +0.009%", "percent_out_of_range", "+0.009%"),
    (alert, "BTCUSDT +1000.01%", "percent_out_of_range", "+1000.01%"),
    (alert, "BTCUSDT -100%", "percent_out_of_range", "-100%"),
    (alert, "BTCUSDT 70000 " + _over, "note_too_long", "200"),
    (alert, "BTCUSDT 70000 margin 1%", "margin_without_every", ""),
    (alert, "BTCUSDT 70000 every 1h margin 1", "bad_margin", "1"),
    (alert, "BTCUSDT 70000 every 1h margin 50.01%", "bad_margin", "50.01%"),
    (alert, "BTCUSDT 70000 every 1h margin 0%", "level_not_positive", "0"),
    (alert, "BTCUSDT 70000 every 30s", "bad_duration", "30s"),
    (alert, "BTCUSDT 70000 every ٥m", "bad_duration", "٥m"),
    (alert, "BTCUSDT 70000 every 0m", "duration_out_of_range", "0m"),
    (alert, "BTCUSDT 70000 every 8d", "duration_out_of_range", "8d"),
    (alert, "BTCUSDT 70000 for 366d", "duration_out_of_range", "366d"),
    (alert, "BTCUSDT 70000 for 53w", "duration_out_of_range", "53w"),
    (alert, "BTCUSDT 70000 every 1h every 2h", "option_twice", "every"),
    (alert, "BTCUSDT 70000 every 1h margin 1% margin 2%", "option_twice", "margin"),
    (alert, "BTCUSDT 70000 for 1d until 2026-12-31", "option_twice", "until"),
    (alert, "BTCUSDT 70000 until 2026-12-31 for 1d", "option_twice", "for"),
    (alert, "BTCUSDT 70000 for 1d for 2d", "option_twice", "for"),
    (alert, "BTCUSDT 70000 until 2026-13-45", "bad_until", "2026-13-45"),
    (alert, "BTCUSDT 70000 until 9999-12-31", "until_too_far", "9999-12-31"),
    (alert, "BTCUSDT 70000 until 2999-01-01", "until_too_far", "2999-01-01"),
    (parse_alert_id, [], "delete_usage", ""),
    (parse_alert_id, ["X12"], "bad_alert_id", "X12"),
    (parse_alert_id, ["0"], "alert_id_out_of_range", "0"),
    (parse_alert_id, ["00000000001"], "alert_id_out_of_range", "00000000001"),
    (parse_price_symbols, [], "price_usage", ""),
    (parse_price_symbols, [",", " "], "price_usage", ""),
    (parse_price_symbols, ["BTC<b>"], "bad_symbol", "BTC<b>"),
]


@pytest.mark.parametrize(("parse", "typed", "reason", "value"), _REFUSALS,
                         ids=[f"{i:02d}-{r[2]}" for i, r in enumerate(_REFUSALS)])
def test_each_refusal_names_its_reason_and_the_text_at_fault(
        parse: Callable[..., object], typed: str | list[str], reason: str, value: str) -> None:
    error = refused(parse, typed)
    assert (error.reason, error.value) == (reason, value)
    reply = Texts().usage_error(error.reason, error.value)  # what the chat is told
    assert reply and "None" not in reply
    assert reason in str(error) and value in str(error)  # and what a log line shows


def test_an_error_without_a_value_has_an_empty_one() -> None:
    assert CommandError("alert_usage").value == ""


# -- until: UTC whatever the server's zone ------------------------------------------------------

@pytest.fixture
def far_east(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's local time 14 hours ahead of UTC (a POSIX zone: no tz database needed)."""
    monkeypatch.setenv("TZ", "<+14>-14")
    time.tzset()
    assert time.localtime().tm_gmtoff == 14 * 3600
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_ten_year_limit_of_until_counts_from_utc_whatever_the_servers_zone(far_east: None) -> None:
    utc_now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    past_limit = (utc_now + MAX_UNTIL + timedelta(hours=7)).isoformat(timespec="minutes") + "+00:00"
    assert refused(parse_until, past_limit).reason == "until_too_far"
    within = (utc_now + MAX_UNTIL - timedelta(hours=7)).isoformat(timespec="minutes") + "+00:00"
    assert parse_until(within) == datetime.fromisoformat(within).replace(tzinfo=None)


def test_an_until_exactly_ten_years_ahead_is_accepted() -> None:
    assert parse_until((NOW + MAX_UNTIL).isoformat(timespec="minutes"), NOW) == NOW + MAX_UNTIL
    later = (NOW + MAX_UNTIL + timedelta(minutes=1)).isoformat(timespec="minutes")
    assert refused(parse_until, later, NOW).reason == "until_too_far"


def test_durations_in_every_unit() -> None:
    span = {"shortest": timedelta(minutes=1), "longest": timedelta(days=365)}
    assert [parse_duration(text, **span) for text in ("30m", "30MIN", "2h", "3d", "1w")] == [
        timedelta(minutes=30), timedelta(minutes=30), timedelta(hours=2), timedelta(days=3), timedelta(weeks=1)]


# -- rules --------------------------------------------------------------------------------------

def test_percent_levels_round_half_to_even_whatever_the_decimal_context() -> None:
    with decimal.localcontext() as context:
        context.rounding = decimal.ROUND_HALF_UP
        assert str(level_from_percent(D("64000.10"), D("5"))) == "67200.10"  # 67200.105


def test_rearm_levels_round_half_to_even_whatever_the_decimal_context() -> None:
    with decimal.localcontext() as context:
        context.rounding = decimal.ROUND_HALF_UP
        assert rearm_level(Direction.UP, D("0.0000000005"), D("50")) == D("0.0000000002")  # 2.5e-10


@pytest.mark.parametrize(("direction", "current", "threshold"), [
    (Direction.UP, "600", "597"),  # at the level: it must go back past the default margin first
    (Direction.UP, "610", "597"),
    (Direction.UP, "599.99", None),  # on the waiting side: armed at once
    (Direction.DOWN, "600", "603"),
    (Direction.DOWN, "590", "603"),
    (Direction.DOWN, "600.01", None),
    (Direction.UP, None, "600"),  # price unknown: the level itself
    (Direction.DOWN, None, "600"),
])
def test_rearming_a_fired_alert_waits_on_the_right_side(direction: Direction, current: str | None,
                                                         threshold: str | None) -> None:
    got = rearm_threshold(direction, D("600"), D(current) if current is not None else None)
    assert got == (D(threshold) if threshold is not None else None)


# -- moves --------------------------------------------------------------------------------------

def test_two_windows_on_one_symbol_each_look_back_their_own_length() -> None:
    for windows in ([("BTCUSDT", 3600), ("BTCUSDT", 900)], [("BTCUSDT", 900), ("BTCUSDT", 3600)]):
        tracker = MoveTracker()
        tracker.watch(windows)
        moves = {}
        for now, price in ((0, "100"), (1800, "105"), (2000, "110")):
            moves = tracker.observe(now, {"BTCUSDT": D(price)}, windows)
        assert moves[("BTCUSDT", 3600)].percent == D("10") and moves[("BTCUSDT", 3600)].reference == D("100")
        assert moves[("BTCUSDT", 900)].reference == D("105")


def test_watching_again_keeps_the_history_of_moves_under_way() -> None:
    tracker = MoveTracker()
    windows = [("BTCUSDT", 900)]
    tracker.watch(windows)
    tracker.observe(0, {"BTCUSDT": D("100")}, windows)
    tracker.watch([*windows, ("ETHUSDT", 900)])  # an alert was added on another symbol
    move = tracker.observe(60, {"BTCUSDT": D("103"), "ETHUSDT": D("2500")}, windows)[("BTCUSDT", 900)]
    assert (move.percent, move.reference, move.rising) == (D("3"), D("100"), True)


def test_a_watched_symbol_missing_from_the_prices_is_skipped_not_a_crash() -> None:
    tracker = MoveTracker()
    windows = [("BTCUSDT", 900), ("ETHUSDT", 900)]
    tracker.watch(windows)
    tracker.observe(0, {"BTCUSDT": D("100"), "ETHUSDT": D("2500")}, windows)
    moves = tracker.observe(2, {"ETHUSDT": D("2550")}, windows)
    assert list(moves) == [("ETHUSDT", 900)]
    assert tracker.observe(4, {"XRPUSDT": D("1")}, [("XRPUSDT", 900)]) == {}  # asked for, never watched


def test_a_flat_price_keeps_one_entry_each_way() -> None:
    tracker = MoveTracker()
    windows = [("BTCUSDT", 900)]
    tracker.watch(windows)
    for tick in range(300):
        move = tracker.observe(tick * 2.0, {"BTCUSDT": D("100")}, windows)[("BTCUSDT", 900)]
    assert tracker.size() == 2
    assert (move.percent, move.rising) == (D("0"), True)


def test_a_rise_and_a_fall_of_the_same_size_report_the_rise_and_a_fall_says_so() -> None:
    tracker = MoveTracker()
    windows = [("BTCUSDT", 900)]
    tracker.watch(windows)
    for now, price in ((0, "90"), (1, "110")):
        tracker.observe(now, {"BTCUSDT": D(price)}, windows)
    tie = tracker.observe(2, {"BTCUSDT": D("99")}, windows)[("BTCUSDT", 900)]  # +10 % from 90, -10 % from 110
    assert (tie.percent, tie.reference, tie.rising) == (D("10"), D("90"), True)
    fall = tracker.observe(3, {"BTCUSDT": D("88")}, windows)[("BTCUSDT", 900)]
    assert (fall.percent, fall.reference, fall.rising) == (D("20"), D("110"), False)


@pytest.mark.parametrize("step", [1, -1], ids=["rise", "fall"])
def test_a_history_is_thinned_only_past_half_its_cap_and_keeps_the_extreme_and_the_recent_half(
        step: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moves, "MAX_ENTRIES_PER_SYMBOL", 20)  # 10 entries a deque
    tracker = MoveTracker()
    windows = [("BTCUSDT", 3600), ("BTCUSDT", 100)]
    tracker.watch(windows)
    for tick in range(10):  # a steady trend: every price stays in one deque
        tracker.observe(tick * 20.0, {"BTCUSDT": D(1000 + step * tick)}, windows)
    assert tracker.size() == 10 + 1
    result = tracker.observe(200.0, {"BTCUSDT": D(1000 + step * 10)}, windows)
    assert tracker.size() == 3 + 6 + 1  # 11 entries: every other of the older 5, all of the newer 6
    whole, recent = result[("BTCUSDT", 3600)], result[("BTCUSDT", 100)]
    assert (whole.reference, whole.percent, whole.rising) == (D(1000), D(1), step > 0)  # the extreme stays
    assert recent.reference == D(1000 + step * 5)  # the newer half is kept whole


# -- extremes -----------------------------------------------------------------------------------

def test_a_wick_seen_at_the_moment_an_alert_was_armed_counts_for_it() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "100", "90", 1.0)
    tracker.update("BTCUSDT", 0, "110", "85", 2.0)
    extremes = tracker.take()["BTCUSDT"]
    assert (extremes.high_since(2.0), extremes.low_since(2.0)) == (D("110"), D("85"))
    assert (extremes.high_since(2.5), extremes.low_since(2.5)) == (None, None)


def test_an_equal_extreme_in_a_later_bar_keeps_the_lists_strictly_ordered() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "100", "90", 1.0)
    tracker.update("BTCUSDT", 0, "110", "80", 2.0)
    tracker.update("BTCUSDT", MINUTE_MS, "110", "80", 61.0)
    extremes = tracker.take()["BTCUSDT"]
    assert len(extremes.highs) == 1 and len(extremes.lows) == 1  # later ones strictly lower (higher)
    assert extremes.high_since(0.0) == extremes.high_since(61.0) == D("110")
    assert extremes.low_since(0.0) == extremes.low_since(61.0) == D("80")


def test_the_same_price_written_differently_is_no_news() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "100", "90", 1.0)
    tracker.update("BTCUSDT", 0, "100.0", "90.00", 2.0)
    assert tracker.take() == {}


def test_after_forgetting_a_symbol_its_next_update_is_a_baseline() -> None:
    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, "100", "90", 1.0)
    tracker.forget("BTCUSDT")
    tracker.update("BTCUSDT", 0, "120", "80", 5.0)
    assert tracker.take() == {}


def test_baseline_and_forget_of_unknown_symbols_do_nothing() -> None:
    tracker = ExtremesTracker()
    tracker.baseline("BTCUSDT")
    tracker.forget("ETHUSDT")
    tracker.update("XRPUSDT", 0, "1", "0.9", 1.0)  # a bar, no interval yet
    tracker.forget("XRPUSDT")
    assert tracker.take() == {}


# -- symbols that stop trading ------------------------------------------------------------------

FULL = frozenset(f"S{i}USDT" for i in range(100))


def test_a_symbol_is_gone_exactly_after_its_time() -> None:
    gone = GoneSymbols(after=60)
    assert gone.observe(0, FULL, {"S1USDT"}) == []
    assert gone.observe(10, FULL - {"S1USDT"}, {"S1USDT"}) == []
    assert gone.observe(69.9, FULL - {"S1USDT"}, {"S1USDT"}) == []
    assert gone.observe(70, FULL - {"S1USDT"}, {"S1USDT"}) == ["S1USDT"]


def test_every_watched_symbol_is_checked_and_the_gone_ones_come_sorted() -> None:
    gone = GoneSymbols(after=0)
    listed = FULL - {"S1USDT", "S2USDT", "S3USDT"}
    watched = ["S4USDT", "S3USDT", "S1USDT", "S5USDT", "S2USDT"]  # listed ones first and in between
    assert gone.observe(0, listed, watched) == ["S1USDT", "S2USDT", "S3USDT"]


def test_an_answer_with_half_the_symbols_counts_and_one_with_fewer_does_not() -> None:
    gone = GoneSymbols(after=0)
    assert gone.observe(0, FULL, {"S1USDT"}) == []
    fewer = frozenset(sorted(FULL - {"S1USDT"})[:49])
    assert gone.observe(1, fewer, {"S1USDT"}) == []  # 49 of 100: partial
    half = frozenset(sorted(FULL - {"S1USDT"})[:50])
    assert gone.observe(2, half, {"S1USDT"}) == ["S1USDT"]


def test_the_partial_reference_forgets_answers_older_than_the_last_hundred() -> None:
    gone = GoneSymbols(after=0)
    gone.observe(0, FULL, set())
    sixty = frozenset(sorted(FULL)[:60])
    for tick in range(1, 101):
        gone.observe(tick, sixty, set())
    forty = frozenset(sorted(FULL)[:40])  # partial next to 100, not next to 60
    assert gone.observe(101, forty, {"S99USDT"}) == ["S99USDT"]


def test_a_partial_answer_does_not_lower_the_reference() -> None:
    gone = GoneSymbols(after=0)
    gone.observe(0, FULL, set())
    few = frozenset(sorted(FULL)[:10])
    for tick in range(1, 5):
        assert gone.observe(tick, few, {"S99USDT"}) == []


def test_a_symbol_no_longer_watched_starts_a_new_clock_when_watched_again() -> None:
    gone = GoneSymbols(after=60)
    listed = FULL - {"S1USDT"}
    assert gone.observe(0, listed, {"S1USDT"}) == []
    assert gone.observe(30, listed, set()) == []  # its alerts were deleted
    assert gone.observe(65, listed, {"S1USDT"}) == []  # a new alert: missing since 65, not 0
    assert gone.observe(125, listed, {"S1USDT"}) == ["S1USDT"]


def test_a_symbol_that_comes_back_restarts_its_clock() -> None:
    gone = GoneSymbols(after=60)
    assert gone.observe(0, FULL - {"S1USDT"}, {"S1USDT"}) == []
    assert gone.observe(30, FULL, {"S1USDT"}) == []
    assert gone.observe(61, FULL - {"S1USDT"}, {"S1USDT"}) == []
    assert gone.observe(121, FULL - {"S1USDT"}, {"S1USDT"}) == ["S1USDT"]


# Mutants that `mutmut run` leaves alive and that no test can kill, as they change nothing
# (mutmut 3.8.1's names; no `# pragma: no mutate` is used, so they stay in its count):
# - moves watch: `spans.get(symbol, 1)`: windows are at least MIN_WINDOW (60 s), so max(1, w) == w;
#   `_History(None)`: the loop right after sets every history's span.
# - moves add: `MAX_ENTRIES_PER_SYMBOL / 2`: for an integer length, len > c // 2 iff len > c / 2.
# - moves _thinned: `islice(entries, None, half, 2)`: a start of None is 0.
# - rules level_from_percent: `Decimal(2).scaleb(...)`; commands parse_level `quantize(Decimal(2))`:
#   quantize takes only the exponent of its argument.
# - commands parse_level: `count(",") == 1 or "." not in raw` and `"XX.XX" not in raw`: a text with
#   one comma and a dot, or two commas, is refused by the pattern either way, as bad_level.
# - commands parse_level: the six mutants of `except InvalidOperation: raise CommandError("bad_level")`:
#   unreachable, as the pattern admits only ASCII digits with one optional point, which Decimal reads.
# - commands parse_percent_move: `sign not in "XX+-XX"`: a sign "X" stays in the number, which the
#   pattern refuses anyway.
# - commands parse_until: the date pattern without re.ASCII: fromisoformat refuses other digits in
#   either branch, as bad_until.
# - extremes update: `bar_start <= bar.start` inside `if bar_start != bar.start`.
