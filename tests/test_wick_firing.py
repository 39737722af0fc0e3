"""The tick's one evaluation with wicks: last prices and the extremes since the last tick, against the database."""

from __future__ import annotations

import time
from datetime import timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from bot.alerts.extremes import Extremes, ExtremesTracker
from bot.alerts.rules import Direction
from bot.notify.notices import render_fired
from bot.storage.models import Alert, AlertState
from bot.storage.store import AlertStore, utcnow

D = Decimal
def high(price: str, at: float) -> Extremes:
    return Extremes(D(price), at, None, None, ((D(price), at),))


def low(price: str, at: float) -> Extremes:
    return Extremes(None, None, D(price), at, (), ((D(price), at),))


async def test_a_wick_after_the_alert_was_armed_fires_it_with_the_touched_price(store: AlertStore) -> None:
    alert = await store.create_alert(1, "BTCUSDT", Direction.UP, D("70010"), "")
    fired = await store.fire_crossed({"BTCUSDT": D("69990")}, render_fired, {"BTCUSDT": high("70012.5", time.time())})
    assert [(f.id, f.price, f.touched) for f in fired] == [(alert.id, D("69990"), D("70012.5"))]
    assert "touched <b>70012.5</b> between checks; now 69990" in render_fired(fired[0], "en")
    assert await store.fire_crossed({"BTCUSDT": D("69990")}, render_fired, {"BTCUSDT": high("70012.5", time.time())}) == []


async def test_a_falling_alert_fires_on_a_low_wick(store: AlertStore) -> None:
    await store.create_alert(1, "ETHUSDT", Direction.DOWN, D("2500"), "")
    fired = await store.fire_crossed({"ETHUSDT": D("2550")}, render_fired, {"ETHUSDT": low("2499.5", time.time())})
    assert [(f.price, f.touched) for f in fired] == [(D("2550"), D("2499.5"))]


async def test_a_wick_seen_before_the_alert_was_armed_never_fires_it(store: AlertStore) -> None:
    await store.create_alert(1, "BTCUSDT", Direction.UP, D("70010"), "")
    assert await store.fire_crossed({"BTCUSDT": D("69990")}, render_fired,
                                    {"BTCUSDT": high("70012.5", time.time() - 5)}) == []


async def test_armed_at_not_created_at_decides(store: AlertStore) -> None:
    """A re-armed (or snoozed, or resumed) alert counts from when it was armed again."""
    alert = await store.create_alert(1, "BTCUSDT", Direction.UP, D("70010"), "")
    async with store._sessions() as session:
        await session.execute(update(Alert).where(Alert.id == alert.id).values(armed_at=utcnow() + timedelta(seconds=5)))
        await session.commit()
    assert await store.fire_crossed({"BTCUSDT": D("69990")}, render_fired, {"BTCUSDT": high("70012.5", time.time())}) == []
    fired = await store.fire_crossed({"BTCUSDT": D("69990")}, render_fired, {"BTCUSDT": high("70012.5", time.time() + 6)})
    assert [f.id for f in fired] == [alert.id]


async def test_the_last_price_still_fires_and_names_itself(store: AlertStore) -> None:
    await store.create_alert(1, "BTCUSDT", Direction.UP, D("70010"), "")
    await store.create_alert(1, "ETHUSDT", Direction.UP, D("3000"), "")
    fired = await store.fire_crossed({"BTCUSDT": D("70011"), "ETHUSDT": D("3001")}, render_fired,
                                     {"BTCUSDT": high("70500", time.time() - 60)})  # an old wick changes nothing
    assert sorted((f.symbol, f.price, f.touched) for f in fired) == [("BTCUSDT", D("70011"), None),
                                                                      ("ETHUSDT", D("3001"), None)]
    assert "rose to <b>70011</b>" in render_fired(fired[0], "en")


async def test_a_wick_fires_only_the_levels_it_reached(store: AlertStore) -> None:
    for level in ("70005", "70012.5", "70013"):
        await store.create_alert(1, "BTCUSDT", Direction.UP, D(level), "")
    await store.create_alert(1, "BTCUSDT", Direction.DOWN, D("69000"), "")
    now = time.time()
    fired = await store.fire_crossed({"BTCUSDT": D("69990")}, render_fired,
                                     {"BTCUSDT": Extremes(D("70012.5"), now, D("69001"), now, ((D("70012.5"), now),),
                                                          ((D("69001"), now),))})
    assert sorted(f.level for f in fired) == [D("70005"), D("70012.5")]


async def test_watched_symbols_are_those_with_armed_or_arming_price_level_alerts(store: AlertStore) -> None:
    await store.create_alert(1, "BTCUSDT", Direction.UP, D("70000"), "")
    await store.create_alert(1, "币安人生USDT", Direction.DOWN, D("0.1"), "")
    await store.create_alert(1, "ETHUSDT", Direction.EITHER, D("3"), "", window_seconds=900)  # a move alert
    gone = await store.create_alert(1, "SOLUSDT", Direction.UP, D("300"), "")
    arming = await store.create_alert(1, "XRPUSDT", Direction.UP, D("3"), "")
    async with store._sessions() as session:
        await session.execute(update(Alert).where(Alert.id == arming.id).values(state=AlertState.ARMING))
        await session.commit()
    await store.delete_alert(1, gone.id)
    assert await store.watched_symbols() == {"BTCUSDT", "币安人生USDT", "XRPUSDT"}


async def test_an_alert_armed_between_two_wicks_fires_on_the_later_one(store: AlertStore) -> None:
    alert = await store.create_alert(1, "BTCUSDT", Direction.UP, D("70010"), "")
    now = time.time()
    extremes = Extremes(D("70100"), now - 1, None, None, ((D("70100"), now - 1), (D("70020"), now + 1)))
    fired = await store.fire_crossed({"BTCUSDT": D("69990")}, render_fired, {"BTCUSDT": extremes})
    assert [(f.id, f.touched) for f in fired] == [(alert.id, D("70020"))]


# -- property: fires iff a trade after arming reached the level -------------------------------

PUSH = 0.25
BASELINE = 100  # the bar's high when we subscribed; the last price at every check


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[tuple[float, int]], list[float], float, int]:
    """Trades (seconds after subscribing, price) over two minute bars, check times, when the
    alert is armed (between two pushes) and its level."""
    times = sorted(draw(st.lists(st.floats(0.01, 110, allow_nan=False), min_size=1, max_size=30)))
    trades = [(t, draw(st.integers(95, 106))) for t in times]
    checks = sorted(draw(st.lists(st.floats(0, 111, allow_nan=False), max_size=5))) + [111.0]
    armed = draw(st.integers(0, 440)) * PUSH + PUSH / 2
    return trades, checks, armed, draw(st.integers(101, 106))


def bar_of(t: float) -> int:
    return int(t // 60) * 60_000


def push_of(t: float) -> float:
    """The 250 ms update that carries a trade made at `t`."""
    return (int(t / PUSH) + 1) * PUSH


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
async def test_an_alert_fires_iff_a_trade_after_it_was_armed_raised_the_minutes_high_to_its_level(
    store: AlertStore, scenario: tuple[list[tuple[float, int]], list[float], float, int],
) -> None:
    """The kline stream shows a trade when it raises its minute's high (or lowers its low), at
    the next 250 ms update; the tracker turns updates into extremes, the tick fires from them
    and the last price (here always 100, below every level: only wicks can fire)."""
    trades, checks, armed_offset, level = scenario
    async with store._sessions() as session:
        await session.execute(update(Alert).values(state=AlertState.DELETED))
        await session.commit()
    alert = await store.create_alert(1, "BTCUSDT", Direction.UP, D(level), "")
    armed_at = utcnow()
    start = armed_at.replace(tzinfo=timezone.utc).timestamp() - armed_offset  # when we subscribed
    async with store._sessions() as session:
        await session.execute(update(Alert).where(Alert.id == alert.id).values(armed_at=armed_at))
        await session.commit()

    tracker = ExtremesTracker()
    tracker.update("BTCUSDT", 0, str(BASELINE), str(BASELINE), start)  # the baseline, in the first bar

    def shown(bar: int, push: float) -> list[int]:
        """The prices of a bar that the update at `push` shows (the first bar's baseline included)."""
        return ([BASELINE] if bar == 0 else []) + [p for t, p in trades if bar_of(t) == bar and push_of(t) <= push]

    pushes = sorted({push_of(t) for t, _ in trades})
    fired, previous = [], -1.0
    for check in checks:
        for push in (p for p in pushes if previous < p <= check):
            for bar in sorted({bar_of(t) for t, _ in trades if push_of(t) == push}):  # the older bar's end first
                prices = shown(bar, push)
                tracker.update("BTCUSDT", bar, str(max(prices)), str(min(prices)), start + push)
        fired += await store.fire_crossed({"BTCUSDT": D(BASELINE)}, render_fired, tracker.take())
        previous = check

    def raised_the_high(t: float, price: int) -> bool:
        return price > max(shown(bar_of(t), push_of(t) - PUSH), default=0)

    expected = any(price >= level and raised_the_high(t, price) and armed_offset < push_of(t) <= checks[-1]
                   for t, price in trades)
    assert bool(fired) == expected
    if fired:
        assert fired[0].touched is not None and fired[0].touched >= level
