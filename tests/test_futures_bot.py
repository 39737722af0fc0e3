"""Futures prices end to end (docs/futures.md): the real bot against fake Telegram, the fake
WebSocket API (last prices), the fake market streams (`!markPrice@arr@1s`) and the fake REST
server (premiumIndex, fundingInfo)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest

from bot.runtime.process import Replica
from tests.conftest import RunningBot, bot_settings, eventually, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.streams import FakeStreams
from tests.fakes.telegram import FakeTelegram

USER = 2401


@pytest.fixture
async def streams() -> AsyncIterator[FakeStreams]:
    fake = FakeStreams(mark_interval=0.2)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def rest(streams: FakeStreams) -> AsyncIterator[FakeBinanceRest]:
    fake = FakeBinanceRest(marks=streams.marks)  # one market for both fakes
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def futures_bot(database_url: str, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
                      rest: FakeBinanceRest) -> AsyncIterator[RunningBot]:
    settings = bot_settings(database_url, exchange, telegram, binance_stream_url=streams.url,
                            binance_rest_url=rest.url, admin_ids=str(USER), mark_fallback_every=1)
    application = await start_bot(settings)
    yield RunningBot(application, settings)
    await stop_bot(application)


def fired(telegram: FakeTelegram) -> list[str]:
    return [m.plain for m in telegram.messages_to(USER) if "🔔" in m.plain]


async def test_stats_and_healthz_say_where_mark_prices_come_from(
    futures_bot: RunningBot, telegram: FakeTelegram, streams: FakeStreams, rest: FakeBinanceRest,
) -> None:
    alerts = futures_bot.application.bot_data["parts"].ticker
    replica = Replica(futures_bot.settings, futures_bot.application, None)  # type: ignore[arg-type]
    replica.role = "working"
    await eventually(lambda: alerts.mark_status() == "stream")
    await telegram.user_sends(USER, "/stats")
    assert "Mark prices: the all-market stream" in (await telegram.wait_for_message(USER, "Stats")).plain
    assert json.loads((await replica.health())[1])["mark_prices"] == "stream"
    streams.marks_quiet = True
    await eventually(lambda: alerts.mark_status() == "fallback", timeout=15)
    assert rest.requests_to("/fapi/v1/premiumIndex")
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/stats")
    assert "Mark prices: premiumIndex" in (await telegram.wait_for_message(USER, "Stats", after=before)).plain
    assert json.loads((await replica.health())[1])["mark_prices"] == "fallback"


async def test_without_a_stream_url_mark_prices_are_off(bot: RunningBot, telegram: FakeTelegram) -> None:
    replica = Replica(bot.settings, bot.application, None)  # type: ignore[arg-type]
    assert json.loads((await replica.health())[1])["mark_prices"] == "off"


async def ticks_pass(alerts: object, count: int = 3) -> None:
    """`count` more ticks have run (each evaluates the mark prices it has, at most once a second)."""
    start = alerts.ticks  # type: ignore[attr-defined]
    await eventually(lambda: alerts.ticks >= start + count)  # type: ignore[attr-defined]


async def test_a_mark_alert_fires_on_the_mark_price_only_and_says_so_with_the_last_price(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    alerts = futures_bot.application.bot_data["parts"].ticker
    exchange.set_price("BTCUSDT", "69000.0")
    streams.marks.set("BTCUSDT", "69500", index="69400")
    await eventually(lambda: alerts.mark_status() == "stream")
    await eventually(lambda: alerts.marks.latest("BTCUSDT").mark == 69500)
    await telegram.user_sends(USER, "/alert ETHUSDT 9999")  # keeps ticks running when the others fired
    await telegram.wait_for_message(USER, "✅ Alert #1")
    await telegram.user_sends(USER, "/alert BTCUSDT mark 70000 hedge")
    created = (await telegram.wait_for_message(USER, "✅ Alert #2")).plain
    assert "rises to ≥ 70000" in created and "Watches the mark price, now 69500" in created
    await telegram.user_sends(USER, "/alert BTCUSDT 70200")  # a last-price alert beside it
    await telegram.wait_for_message(USER, "70200")
    exchange.set_price("BTCUSDT", "70500.0")  # the last price goes past both levels; the mark does not
    await telegram.wait_for_message(USER, "rose to 70500.0 (your level 70200")
    await ticks_pass(alerts, 4)
    assert len(fired(telegram)) == 1
    streams.marks.set("BTCUSDT", "70010.5")
    message = await telegram.wait_for_message(USER, "mark price rose")
    assert "BTCUSDT mark price rose to 70010.50 (your level 70000, alert #2)" in message.plain
    assert "Last price: 70500.0" in message.plain and "hedge" in message.plain
    assert [b["text"] for b in message.buttons()][:3] == ["😴 Snooze 1 h", "🔁 Re-arm", "🗑 Delete"]
    await ticks_pass(alerts, 3)
    assert len(fired(telegram)) == 2  # once

    # Re-arm with the mark still past the level: it waits for the mark to come back, then fires again.
    await telegram.press_button(message, message.buttons()[1]["callback_data"])
    await ticks_pass(alerts, 3)
    assert len(fired(telegram)) == 2
    streams.marks.set("BTCUSDT", "69000")  # back below 70000 minus the margin
    await ticks_pass(alerts, 3)
    streams.marks.set("BTCUSDT", "70001")
    await eventually(lambda: len(fired(telegram)) == 3)


async def test_an_index_alert_watches_the_index_price(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    alerts = futures_bot.application.bot_data["parts"].ticker
    streams.marks.set("ETHUSDT", "2500", index="2490")
    await eventually(lambda: (alerts.marks.latest("ETHUSDT") or alerts).__dict__.get("index") == 2490)
    await telegram.user_sends(USER, "/alert ETHUSDT index below 2400 every 1h")
    assert "Watches the index price, now 2490" in (await telegram.wait_for_message(USER, "✅")).plain
    streams.marks.set("ETHUSDT", "2390")  # the mark crosses; the index does not
    await ticks_pass(alerts, 3)
    assert fired(telegram) == []
    streams.marks.set("ETHUSDT", "2390", index="2399.5")
    message = await telegram.wait_for_message(USER, "index price fell")
    assert "ETHUSDT index price fell to 2399.50 (your level 2400, alert #1)" in message.plain


async def test_mark_prices_older_than_stale_after_never_fire(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams, rest: FakeBinanceRest,
) -> None:
    settings = bot_settings(database_url, exchange, telegram, binance_stream_url=streams.url,
                            binance_rest_url=rest.url, stale_after=3)
    application = await start_bot(settings)
    try:
        alerts = application.bot_data["parts"].ticker
        await eventually(lambda: alerts.marks.latest("BTCUSDT") is not None)
        await telegram.user_sends(USER, "/alert BTCUSDT mark above 99000")
        await telegram.wait_for_message(USER, "✅")
        streams.marks_quiet = True
        await rest.stop()  # no fallback either
        await eventually(lambda: alerts.mark_status() == "down", timeout=20)
        old = alerts.marks.latest("BTCUSDT")
        # What the bot last heard, long ago, was past the level: it must not fire.
        alerts.marks._marks["BTCUSDT"] = replace(old, mark=Decimal("99500"), received_at=time.monotonic() - 4)
        await ticks_pass(alerts, 4)
        assert fired(telegram) == []
        alerts.marks._marks["BTCUSDT"] = replace(old, mark=Decimal("99500"), received_at=time.monotonic())
        await telegram.wait_for_message(USER, "mark price rose")
    finally:
        await stop_bot(application)


async def test_price_shows_last_mark_index_funding_and_time_to_the_next_funding(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    exchange.set_price("BTCUSDT", "70100.5")
    streams.marks.set("BTCUSDT", "70090.12", index="70080.01", rate="0.000125")
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "mark", None) == Decimal("70090.12"))
    await eventually(lambda: ticker.funding_hours("BTCUSDC") == 4)  # fundingInfo read
    await telegram.user_sends(USER, "/price BTCUSDT BTCUSDT_261225 BTCUSDC")
    text = (await telegram.wait_for_message(USER, "BTCUSDT: ")).plain
    lines = text.splitlines()
    assert lines[0] == "BTCUSDT: 70100.5"
    assert lines[1].strip() == "mark 70090.12 · index 70080.01"
    assert lines[2].strip().startswith("funding 0.0125% every 8h, next in ")
    assert "no funding (a delivery contract)" in text
    assert "funding 0.01% every 4h" in text
    await telegram.user_sends(USER + 1, "/price BTCUSDT", language_code="zh-hans")
    zh = (await telegram.wait_for_message(USER + 1, "标记")).plain
    assert "标记 70090.12 · 指数 70080.01" in zh and "资金费率 0.0125%，每 8 小时" in zh


async def test_alerts_list_export_and_import_know_mark_and_index_alerts(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    streams.marks.set("BTCUSDT", "69000", index="68990")
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "mark", None) == Decimal("69000"))
    for command in ("/alert BTCUSDT mark below 65000 every 1h margin 1% stop", "/alert BTCUSDT index 75000",
                    "/alert BTCUSDT 72000"):
        before = len(telegram.sent)
        await telegram.user_sends(USER, command)
        await telegram.wait_for_message(USER, "✅", after=before)
    await telegram.user_sends(USER, "/alerts")
    listing = (await telegram.wait_for_message(USER, "Your alerts")).plain
    assert "#1 BTCUSDT mark price falls to ≤ 65000" in listing and "#2 BTCUSDT index price rises to ≥ 75000" in listing
    assert "#3 BTCUSDT rises to ≥ 72000" in listing
    await telegram.user_sends(USER, "/export")
    exported = await telegram.wait_for_message(USER, "3 alerts")
    assert exported.document is not None
    assert exported.document.decode("utf-8-sig").splitlines()[1:] == [
        # symbol, direction (with its price), level, note, repeat, expiry, silent
        "BTCUSDT,mark below,65000,stop,1h margin 1%,,", "BTCUSDT,index above,75000,,,,", "BTCUSDT,above,72000,,,,",
    ]
    await telegram.user_sends_document(USER + 1, exported.filename, exported.document, caption="/import")
    answer = (await telegram.wait_for_message(USER + 1, "Import")).plain
    assert "3 created, 0 refused" in answer
    assert "✅ #4 BTCUSDT mark price falls to ≤ 65000 · every 1h" in answer
    assert "✅ #5 BTCUSDT index price rises to ≥ 75000" in answer


async def test_the_guided_alert_asks_last_price_or_mark_price(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    exchange.set_price("BTCUSDT", "64000.00")
    streams.marks.set("BTCUSDT", "64010")
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "mark", None) == Decimal("64010"))
    await telegram.user_sends(USER, "/alert")
    ask_symbol = await telegram.wait_for_message(USER, "Which symbol")
    await telegram.press_button(ask_symbol, "gs:BTCUSDT")
    await telegram.wait_for_message(USER, "At what price")
    await telegram.user_sends(USER, "65000")
    confirm = await telegram.wait_for_message(USER, "Create this alert?")
    assert "Last price or mark price?" in confirm.plain
    assert [b["text"] for b in confirm.buttons()] == ["✅ Last price", "✅ Mark price", "✖ Cancel"]
    await telegram.press_button(confirm, "gc:mark")
    created = (await telegram.wait_for_message(USER, "✅ Alert")).plain
    assert "Watches the mark price, now 64010" in created
    streams.marks.set("BTCUSDT", "65001")
    await telegram.wait_for_message(USER, "BTCUSDT mark price rose to 65001")


async def test_a_funding_alert_fires_when_the_rate_crosses_and_a_delivery_contract_gets_a_clear_answer(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    streams.marks.set("BTCUSDT", "70000", rate="0.0001")
    await eventually(lambda: ticker.marks.latest("BTCUSDT_261225") is not None
                     and getattr(ticker.marks.latest("BTCUSDT"), "funding_rate", None) == Decimal("0.0001"))
    await telegram.user_sends(USER, "/alert BTCUSDT funding above 0.05% carry")
    created = (await telegram.wait_for_message(USER, "✅")).plain
    assert "BTCUSDT funding rate rises to ≥ 0.05%" in created and "The funding rate is now 0.01%." in created
    await telegram.user_sends(USER, "/alert BTCUSDT funding below -0.01%")
    await telegram.wait_for_message(USER, "≤ -0.01%")
    streams.marks.set("BTCUSDT", "70000", rate="0.00049")  # 0.049 %: not yet
    await ticks_pass(ticker, 3)
    assert fired(telegram) == []
    streams.marks.set("BTCUSDT", "70000", rate="0.0006")
    message = await telegram.wait_for_message(USER, "funding rate rose")
    assert "BTCUSDT funding rate rose to 0.06% (your level 0.05%, alert #1)" in message.plain
    streams.marks.set("BTCUSDT", "70000", rate="-0.00015")
    assert "funding rate fell to -0.015% (your level -0.01%, alert #2)" in (
        await telegram.wait_for_message(USER, "funding rate fell")).plain
    await telegram.user_sends(USER, "/alert BTCUSDT_261225 funding above 0.05%")
    assert "BTCUSDT_261225 has no funding" in (await telegram.wait_for_message(USER, "no funding")).plain


async def test_a_funding_reminder_comes_before_the_funding_with_the_rate_and_what_it_costs(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    soon = int((time.time() + 20 * 60) * 1000)
    streams.marks.next_funding["BTCUSDT"] = soon
    streams.marks.set("BTCUSDT", "70000", rate="0.000125")
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "next_funding_ms", None) == soon)
    await telegram.user_sends(USER, "/alert ETHUSDT 9999")  # keeps ticks running
    await telegram.wait_for_message(USER, "✅ Alert #1")
    await telegram.user_sends(USER, "/alert BTCUSDT funding 15m before rebalance")
    created = (await telegram.wait_for_message(USER, "✅ Alert #2")).plain
    assert "BTCUSDT funding reminder 15m before the next funding." in created and "Next funding in 19m" in created
    await ticks_pass(ticker, 3)
    assert [m for m in telegram.messages_to(USER) if "⏰" in m.plain] == []
    streams.marks.next_funding["BTCUSDT"] = int((time.time() + 14 * 60) * 1000)  # 14 minutes left
    reminder = (await telegram.wait_for_message(USER, "⏰")).plain
    assert "BTCUSDT funding in 13m" in reminder and "alert #2" in reminder
    assert "Predicted rate: 0.0125%" in reminder
    assert "Per 1,000 USDT: a long pays 0.125 USDT, a short receives 0.125 USDT." in reminder and "rebalance" in reminder
    await telegram.user_sends(USER, "/alerts")
    assert "#1 ETHUSDT" in (await telegram.wait_for_message(USER, "Your alerts")).plain


async def test_liq_warns_once_per_step_as_the_mark_nears_the_liquidation_price(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    streams.marks.set("BTCUSDT", "70000")
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "mark", None) == Decimal("70000"))
    await telegram.user_sends(USER, "/liq BTCUSDT long 60000")
    created = (await telegram.wait_for_message(USER, "Watching")).plain
    assert "BTCUSDT long, liquidation price 60000" in created and "#1 (10%), #2 (5%), #3 (2%)" in created
    assert "Mark price now 70000.00 (16.67% away)" in created
    streams.marks.set("BTCUSDT", "65900")  # within 10 %
    first = (await telegram.wait_for_message(USER, "⚠️")).plain
    assert "BTCUSDT mark price 65900.00 is 9.83% from your liquidation price 60000 (long, alert #1)" in first
    await ticks_pass(ticker, 3)
    assert len([m for m in telegram.messages_to(USER) if "⚠️" in m.plain]) == 1  # each step once
    streams.marks.set("BTCUSDT", "61000")  # within 5 % and 2 %
    # (several notifications for one chat may share a message)
    await eventually(lambda: sum(m.plain.count("⚠️") for m in telegram.messages_to(USER)) == 3)
    assert "is 1.67% from your liquidation price 60000 (long, alert #3)" in telegram.messages_to(USER)[-1].plain
    await telegram.user_sends(USER, "/liq BTCUSDT sideways 60000")
    assert "long or short" in (await telegram.wait_for_message(USER, "liquidation price your exchange")).plain


async def test_a_chart_draws_mark_levels_and_leaves_out_funding_alerts(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    charts = futures_bot.application.bot_data["parts"].charts
    ticker = futures_bot.application.bot_data["parts"].ticker
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "funding_rate", None) is not None)
    for command in ("/alert BTCUSDT mark 99000", "/alert BTCUSDT funding above 0.05%", "/alert BTCUSDT funding 15m before"):
        before = len(telegram.sent)
        await telegram.user_sends(USER, command)
        await telegram.wait_for_message(USER, "✅", after=before)
    drawn = await charts._live_alerts(USER, "BTCUSDT")  # what /chart draws
    assert [(a.price_source.value, a.level) for a in drawn] == [("mark", Decimal("99000"))]
