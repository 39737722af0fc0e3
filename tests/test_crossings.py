"""An alert fires on a crossing, never just because the price already was past its level.

The rule lives in the database's firing queries; these tests drive them (through the store, as a
tick does) over random price paths, and through the running bot for each case a user meets.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.alerts.delisting import GoneSymbols
from bot.alerts.rules import Direction, crossed, rearm_threshold
from bot.alerts.service import render_fired
from bot.storage.models import AlertState
from bot.storage.store import AlertStore
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

LEVEL = Decimal("100")
_chats = itertools.count(1)

# A price path around the level, with Re-arm presses and pauses in between.
_step = st.one_of(
    st.decimals(min_value=Decimal("98"), max_value=Decimal("102"), places=1).map(lambda p: ("price", p)),
    st.just(("rearm", None)), st.just(("pause", None)), st.just(("resume", None)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(direction=st.sampled_from([Direction.UP, Direction.DOWN]), repeat=st.booleans(),
       start=st.decimals(min_value=Decimal("98"), max_value=Decimal("102"), places=1),
       steps=st.lists(_step, max_size=25))
async def test_never_two_notices_without_the_price_going_back_and_never_one_unarmed(
    store: AlertStore, direction: Direction, repeat: bool, start: Decimal, steps: list[tuple[str, Decimal | None]]
) -> None:
    chat = next(_chats)
    symbol = "BTCUSDT"
    margin_level = LEVEL * (Decimal("0.995") if direction is Direction.UP else Decimal("1.005"))
    alert = await store.create_alert(
        chat, symbol, direction, LEVEL, "", passed=crossed(direction, LEVEL, start),
        repeat_seconds=60 if repeat else None, rearm_level=margin_level if repeat else None,
    )
    price = start
    waiting_side_seen = not crossed(direction, LEVEL, start)  # armed at creation
    fires = 0
    for action, value in steps:
        if action == "price":
            price = value
            await store.start_cooldowns({symbol: price})
            await store.end_cooldowns()
            fired = [a for a in await store.fire_crossed({symbol: price}, render_fired) if a.id == alert.id]
            if fired:
                fires += 1
                assert crossed(direction, LEVEL, price)  # it reached the level
                assert waiting_side_seen, f"fire #{fires} at {price} without a crossing"
                waiting_side_seen = False
            elif not crossed(direction, LEVEL, price):
                waiting_side_seen = True
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
