"""An alert fires on a crossing, never just because the price already was past its level.

The rule lives in the database's firing queries; these tests drive them (through the store, as a
tick does) over random price paths, and through the running bot for each case a user meets.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from prometheus_client import REGISTRY

from bot.alerts.delisting import GoneSymbols
from bot.alerts.rules import DEFAULT_MARGIN, Direction, crossed, rearm_level, rearm_threshold
from bot.notify.notices import render_fired
from bot.storage.models import AlertState
from bot.storage.store import AlertStore
from tests.conftest import bot_settings, eventually, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

LEVEL = Decimal("100")
_chats = itertools.count(1)

# A price path around the level (and its 0.5 % margins: 99.5, 100.5), with Re-arm presses and pauses.
_PRICES = [Decimal(p) for p in ("98", "99", "99.4", "99.5", "99.6", "99.9", "100", "100.1", "100.4", "100.5",
                                 "100.6", "101", "102")]
_price = st.sampled_from(_PRICES).map(lambda p: ("price", p))
_step = st.one_of(_price, _price, _price, st.just(("rearm", None)), st.just(("pause", None)),
                  st.just(("resume", None)))


def _model_step(state: tuple, action: str, price: Decimal, direction: Direction, repeat: bool,
                margin_level: Decimal) -> tuple[tuple, bool]:
    """The rule, written out plainly: (next state, whether a notice is due). States: ("armed",),
    ("arming", threshold), ("fired",), ("waiting",) for a repeat waiting for the price to go back,
    ("cooling",) for a repeat in its cooldown (60 s: longer than a test), ("paused", state)."""
    up = direction is Direction.UP
    if action == "price":
        kind = state[0]
        if kind == "arming" and (price < state[1] if up else price > state[1]):
            state = ("armed",)  # strictly back on the waiting side
        elif kind == "waiting" and (price <= margin_level if up else price >= margin_level):
            return ("cooling",), False
        if state[0] == "armed" and crossed(direction, LEVEL, price):
            return (("waiting",) if repeat else ("fired",)), True
        return state, False
    if action == "rearm":
        if state[0] != "fired":
            return state, False
        threshold = rearm_threshold(direction, LEVEL, price)
        return (("armed",) if threshold is None else ("arming", threshold)), False
    if action == "pause":
        return (("paused", state) if state[0] in ("armed", "arming", "waiting", "cooling") else state), False
    if state[0] != "paused":
        return state, False
    before = state[1]
    if before[0] == "armed" and crossed(direction, LEVEL, price):  # passed during the pause
        return ("arming", margin_level if repeat else LEVEL), False
    return before, False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(direction=Direction.UP, repeat=False, start=Decimal("101"), steps=[("price", Decimal("100"))])
@example(direction=Direction.DOWN, repeat=False, start=Decimal("101"),
         steps=[("pause", None), ("price", Decimal("99")), ("resume", None), ("price", Decimal("99"))])
@given(direction=st.sampled_from([Direction.UP, Direction.DOWN]), repeat=st.booleans(),
       start=st.sampled_from(_PRICES), steps=st.lists(_step, max_size=30))
async def test_an_alert_fires_exactly_when_an_armed_alert_sees_its_level(
    store: AlertStore, direction: Direction, repeat: bool, start: Decimal, steps: list[tuple[str, Decimal | None]]
) -> None:
    """Over random price paths with Re-arm presses and pauses: a notice exactly when the plain
    rule says so, hence never two without the price going back in between, never one for an
    alert that was never armed, and none missed."""
    chat = next(_chats)
    symbol = "BTCUSDT"
    margin_level = rearm_level(direction, LEVEL, DEFAULT_MARGIN)
    alert = await store.create_alert(
        chat, symbol, direction, LEVEL, "", passed=crossed(direction, LEVEL, start),
        repeat_seconds=60 if repeat else None, rearm_level=margin_level if repeat else None,
    )
    state: tuple = ("arming", margin_level if repeat else LEVEL) if crossed(direction, LEVEL, start) else ("armed",)
    price = start
    for action, value in steps:
        price = value if action == "price" else price
        state, due = _model_step(state, action, price, direction, repeat, margin_level)
        if action == "price":  # what a tick does, in its order
            await store.start_cooldowns({symbol: price})
            await store.end_cooldowns()
            fired = [a.id for a in await store.fire_crossed({symbol: price}, render_fired) if a.id == alert.id]
            assert fired == ([alert.id] if due else []), f"{action} {price}: model {state}"
        elif action == "rearm":
            await store.rearm_alert(chat, alert.id, rearm_threshold(direction, LEVEL, price))
        elif action == "pause":
            await store.pause_chat(chat)
        else:
            await store.resume_chat(chat, {symbol: price})


async def test_an_alert_made_past_its_level_waits_for_a_crossing(store: AlertStore) -> None:
    alert = await store.create_alert(1, "AVAXUSDT", Direction.UP, Decimal("30"), "", passed=True)
    assert alert.state is AlertState.ARMING and alert.armed_at is None
    assert await store.fire_crossed({"AVAXUSDT": Decimal("35.123")}, render_fired) == []
    await store.start_cooldowns({"AVAXUSDT": Decimal("29.99")})
    armed = await store.get_alert(1, alert.id)
    assert armed.state is AlertState.ACTIVE and armed.armed_at is not None
    assert [a.id for a in await store.fire_crossed({"AVAXUSDT": Decimal("30")}, render_fired)] == [alert.id]


@pytest.mark.parametrize(("direction", "current", "expected"), [
    (Direction.UP, "601", "597"),  # still past: back by the default 0.5 % margin first
    (Direction.UP, "599", None),  # on the waiting side: armed at once
    (Direction.DOWN, "590", "603"),
    (Direction.DOWN, "601", None),
    (Direction.UP, None, "600"),  # no price: armed once strictly on the waiting side
    (Direction.EITHER, "0.12", None),  # a move alert (`3% 15m`, level 3 %) re-arms at once
    (Direction.EITHER, None, None),
])
def test_rearm_threshold(direction: Direction, current: str | None, expected: str | None) -> None:
    got = rearm_threshold(direction, Decimal("600"), Decimal(current) if current else None)
    assert got == (Decimal(expected) if expected else None)


def test_a_symbol_missing_long_enough_is_gone_and_one_that_comes_back_is_not() -> None:
    gone = GoneSymbols(after=900)
    listed = {f"S{i}USDT" for i in range(100)} | {"BTCUSDT_261225"}
    watched = {"BTCUSDT_261225", "S1USDT"}
    assert gone.observe(0, listed, watched) == []
    without = listed - {"BTCUSDT_261225", "S1USDT"}
    assert gone.observe(10, without, watched) == []
    assert gone.observe(500, listed - {"BTCUSDT_261225"}, watched) == []  # S1USDT came back: its clock stops
    assert gone.observe(909, without, watched) == []  # 899 s for BTCUSDT_261225
    assert gone.observe(910, without, watched) == ["BTCUSDT_261225"]  # 900 s
    assert gone.observe(1400, without, {"S1USDT"}) == []  # S1USDT missing again since 909 only
    assert gone.observe(1809, without, {"S1USDT"}) == ["S1USDT"]


def test_a_partial_answer_ends_nothing() -> None:
    gone = GoneSymbols(after=1)
    full = {f"S{i}USDT" for i in range(100)}
    assert gone.observe(0, full, {"S1USDT"}) == []
    partial = {f"S{i}USDT" for i in range(60, 100)}  # 40 % of the symbols, S1USDT among the missing
    assert gone.observe(5, partial, {"S1USDT"}) == [] and gone.observe(10, partial, {"S1USDT"}) == []
    assert gone.observe(11, full - {"S1USDT"}, {"S1USDT"}) == []  # its clock starts at a full answer
    assert gone.observe(12, full - {"S1USDT"}, {"S1USDT"}) == ["S1USDT"]


USER, OTHER = 3001, 3002


async def test_a_symbol_that_stops_trading_ends_its_alerts_and_tells_each_chat_once(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram
) -> None:
    exchange.set_price("BTCUSDT_261225", "70000.0")
    exchange.set_price("ETHUSDT", "2500.00")
    application = await start_bot(bot_settings(database_url, exchange, telegram, symbol_gone_after=2))
    try:
        for command in ("/alert BTCUSDT_261225 80000", "/alert BTCUSDT_261225 60000 note", "/alert ETHUSDT 3000"):
            before = len(telegram.sent)
            await telegram.user_sends(USER, command)
            await telegram.wait_for_message(USER, "✅", after=before)
        del exchange.prices["BTCUSDT_261225"]  # settled: absent from every answer from now on
        ended = await telegram.wait_for_message(USER, "no longer traded", timeout=15)
        assert "BTCUSDT_261225 is no longer traded on Binance futures: alerts #1, #2 ended." in ended.plain
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3)
        assert len([m for m in telegram.messages_to(USER) if "no longer traded" in m.plain]) == 1
        before = len(telegram.sent)
        await telegram.user_sends(USER, "/alerts")
        listing = (await telegram.wait_for_message(USER, "Your alerts", after=before)).plain
        live, _, recent = listing.partition("Fired lately")
        assert "#3 ETHUSDT" in live and "#1" not in live and "#2" not in live
        assert "#1 BTCUSDT_261225 rises to ≥ 80000 🏁 ended: no longer traded" in recent
        listed = telegram.sent[-1]
        assert not [b for b in listed.buttons() if "#1" in b["text"] or "#2" in b["text"]]  # nothing to re-arm
    finally:
        await stop_bot(application)


async def test_a_symbol_back_within_the_window_changes_nothing(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram
) -> None:
    exchange.set_price("BTCUSDT_261225", "70000.0")
    application = await start_bot(bot_settings(database_url, exchange, telegram, symbol_gone_after=5))
    try:
        await telegram.user_sends(USER, "/alert BTCUSDT_261225 80000")
        await telegram.wait_for_message(USER, "✅")
        del exchange.prices["BTCUSDT_261225"]
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3)
        exchange.set_price("BTCUSDT_261225", "80000.0")  # back, and crossing
        assert "rose to 80000.0" in (await telegram.wait_for_message(USER, "🔔")).plain
        assert not [m for m in telegram.messages_to(USER) if "no longer traded" in m.plain]
    finally:
        await stop_bot(application)


async def test_a_chat_outside_the_allowlist_gets_nothing_and_gets_its_alerts_back_when_allowed_again(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    application = await start_bot(bot_settings(database_url, exchange, telegram))
    try:
        for chat, command in ((USER, "/alert BTCUSDT 65000 mine"), (OTHER, "/alert BTCUSDT 65000 mine"),
                              (OTHER, "/alert BTCUSDT 99999 keeps ticks polling")):
            before = len(telegram.sent)
            await telegram.user_sends(chat, command)
            await telegram.wait_for_message(chat, "✅", after=before)
    finally:
        await stop_bot(application)

    application = await start_bot(bot_settings(database_url, exchange, telegram, allowed_chat_ids=frozenset({OTHER})))
    try:
        exchange.set_price("BTCUSDT", "65500.00")
        await telegram.wait_for_message(OTHER, "🔔")
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3)
        assert not [m for m in telegram.messages_to(USER) if "🔔" in m.plain]
    finally:
        await stop_bot(application)

    exchange.set_price("BTCUSDT", "64000.00")
    application = await start_bot(bot_settings(database_url, exchange, telegram))  # everyone allowed again
    try:
        before = len(telegram.sent)
        await telegram.user_sends(USER, "/alerts")
        assert "#1 BTCUSDT rises to ≥ 65000" in (await telegram.wait_for_message(USER, "Your alerts", after=before)).plain
        exchange.set_price("BTCUSDT", "65100.00")
        assert "mine" in (await telegram.wait_for_message(USER, "🔔")).plain
    finally:
        await stop_bot(application)


async def test_a_chat_outside_the_allowlist_is_not_told_that_a_symbol_ended(store: AlertStore) -> None:
    from bot.notify.notices import render_ended

    outside = await store.create_alert(1, "BTCUSDT_261225", Direction.UP, Decimal("80000"), "")
    inside = await store.create_alert(2, "BTCUSDT_261225", Direction.UP, Decimal("80000"), "")
    await store.apply_allowlist(frozenset({2}), None, "not allowed")
    ended = await store.end_symbols(["BTCUSDT_261225"], render_ended)
    assert [(e.chat_id, e.ids) for e in ended] == [(2, [inside.id])]
    assert (await store.get_alert(1, outside.id)).state is AlertState.ENDED
    assert [m.chat_id for m in await store.pending_messages()] == [2]


async def test_a_fired_move_alert_rearms_at_once(store: AlertStore) -> None:
    from bot.alerts.rules import rearm_threshold as threshold

    alert = await store.create_alert(1, "DOGEUSDT", Direction.EITHER, Decimal("3"), "", window_seconds=900)
    await store.fire_moves({("DOGEUSDT", 900): (Decimal("3.5"), Decimal("0.116"))}, {"DOGEUSDT": Decimal("0.12")},
                           render_fired)
    again = await store.rearm_alert(1, alert.id, threshold(alert.direction, alert.level, Decimal("0.12")))
    assert again is not None and again.state is AlertState.ACTIVE


async def test_a_move_alert_made_through_another_replica_is_watched_at_the_next_tick(
    bot, exchange: FakeExchange, telegram: FakeTelegram
) -> None:
    """Webhook mode: any replica may create an alert; the working process sees it at its next
    tick (the newest alert id changed), not at its 30-second re-read."""
    from bot.alerts.commands import parse_alert
    from bot.runtime.compose import build_application

    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(OTHER, "/alert ETHUSDT 19999")  # ticks run, the move windows are read (none)
    await telegram.wait_for_message(OTHER, "✅")
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
    replica = build_application(bot.settings)  # a second process's services: it does no singleton work
    try:
        await replica.bot_data["alerts"].create(USER, parse_alert(["BTCUSDT", "3%", "15m", "via", "B"]))
    finally:
        if replica.post_shutdown:
            await replica.post_shutdown(replica)
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)  # the working process watches it
    exchange.set_price("BTCUSDT", "66000.00")  # +3.1 %
    assert "via B" in (await telegram.wait_for_message(USER, "🔔", timeout=10)).plain


async def test_a_move_made_during_a_pause_does_not_fire_and_the_next_one_does_at_once(
    bot, exchange: FakeExchange, telegram: FakeTelegram
) -> None:
    """While nothing is active the recent prices kept for moves are dropped: a rise of 3 % while
    the alert was paused does not fire it on /resume, as it would not fire one just created; the
    next 3 % does, without waiting for the 30-second re-read of the windows."""
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 3% 15m back")
    await telegram.wait_for_message(USER, "✅")
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
    assert REGISTRY.get_sample_value("pricealert_move_history_entries") > 0
    await telegram.user_sends(USER, "/pause")
    await telegram.wait_for_message(USER, "⏸")
    await eventually(lambda: REGISTRY.get_sample_value("pricealert_move_history_entries") == 0)
    exchange.set_price("BTCUSDT", "66000.00")  # +3.1 % while paused
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/resume")
    await telegram.wait_for_message(USER, "watching again", after=before)
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3)
    assert not [m for m in telegram.sent[before:] if "🔔" in m.plain]
    exchange.set_price("BTCUSDT", "68000.00")  # +3.03 % since the resume
    assert "back" in (await telegram.wait_for_message(USER, "🔔", after=before, timeout=10)).plain


async def test_a_process_that_stops_ticking_drops_the_prices_kept_for_moves(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram
) -> None:
    """A standby (or a stopped bot) keeps no move history: it would be stale when the process
    works again, and Prometheus would count it twice across replicas."""
    application = await start_bot(bot_settings(database_url, exchange, telegram))
    try:
        exchange.set_price("BTCUSDT", "64000.00")
        await telegram.user_sends(USER, "/alert BTCUSDT 3% 15m")
        await telegram.wait_for_message(USER, "✅")
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
        assert REGISTRY.get_sample_value("pricealert_move_history_entries") > 0
    finally:
        await stop_bot(application)
    assert REGISTRY.get_sample_value("pricealert_move_history_entries") == 0
