"""Wicks between two checks, end to end: fake Telegram, fake exchange (ticker.price) and fake market streams."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from bot.exchange.markprice import STREAM as MARK_STREAM
from bot.exchange.streams import stream_name
from tests.conftest import RunningBot, bot_settings, eventually, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.streams import FakeStreams
from tests.fakes.telegram import FakeTelegram

USER = 1001
BTC = stream_name("BTCUSDT")


@pytest.fixture
async def streams() -> AsyncIterator[FakeStreams]:
    fake = FakeStreams()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def wick_bot(database_url: str, exchange: FakeExchange, telegram: FakeTelegram,
                   streams: FakeStreams) -> AsyncIterator[RunningBot]:
    settings = bot_settings(database_url, exchange, telegram, binance_stream_url=streams.url)
    application = await start_bot(settings)
    yield RunningBot(application, settings)
    await stop_bot(application)


def set_price(exchange: FakeExchange, streams: FakeStreams, symbol: str, price: str) -> None:
    """A trade: the stream sees it, and it is the last price the next check reads."""
    streams.trade(symbol, price)
    exchange.set_price(symbol, price)


async def subscribed_with_baseline(streams: FakeStreams, name: str) -> None:
    """The bot subscribed `name` and was sent its first (baseline) update."""
    await streams.wait_for(lambda: any(name in sent for sent in streams.sent_to()))


def fired(telegram: FakeTelegram) -> list[str]:
    return [m.plain for m in telegram.messages_to(USER) if "🔔" in m.plain]


async def test_a_wick_between_two_checks_fires_once_with_the_touched_price(
    wick_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    set_price(exchange, streams, "BTCUSDT", "69990")
    await telegram.user_sends(USER, "/alert ETHUSDT 19999")  # keeps ticks polling after BTC fired
    await telegram.wait_for_message(USER, "ETHUSDT rises")
    await telegram.user_sends(USER, "/alert BTCUSDT 70010")
    await telegram.wait_for_message(USER, "BTCUSDT rises")
    await subscribed_with_baseline(streams, BTC)

    by_wicks = REGISTRY.get_sample_value("pricealert_alerts_fired_by_wicks_total") or 0
    streams.trade("BTCUSDT", "70012.5")  # a liquidation wick, over before the next check
    streams.trade("BTCUSDT", "69990")
    message = await telegram.wait_for_message(USER, "🔔")
    assert "BTCUSDT touched 70012.5 between checks; now 69990" in message.plain and "70010" in message.plain
    assert REGISTRY.get_sample_value("pricealert_alerts_fired_by_wicks_total") == by_wicks + 1
    assert REGISTRY.get_sample_value("pricealert_stream_live") == 1

    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3)
    assert len(fired(telegram)) == 1


async def test_a_wick_before_the_alert_existed_does_not_fire_it(
    wick_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    set_price(exchange, streams, "BTCUSDT", "69990")
    await telegram.user_sends(USER, "/alert BTCUSDT 99000")  # keeps BTCUSDT watched
    await telegram.wait_for_message(USER, "BTCUSDT rises")
    await subscribed_with_baseline(streams, BTC)

    sent = streams.updates_sent
    streams.trade("BTCUSDT", "70012.5")
    streams.trade("BTCUSDT", "69990")
    await streams.wait_for(lambda: streams.updates_sent > sent)  # the bot has seen the wick
    await telegram.user_sends(USER, "/alert BTCUSDT 70010")
    await telegram.wait_for_message(USER, "70010")
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 4)
    assert fired(telegram) == []

    set_price(exchange, streams, "BTCUSDT", "70011")  # a real rise still fires it, as usual
    assert "rose to 70011" in (await telegram.wait_for_message(USER, "🔔")).plain


async def test_a_symbols_last_alert_deleted_unsubscribes_it(
    wick_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    await telegram.user_sends(USER, "/alert BTCUSDT 99000")
    await telegram.wait_for_message(USER, "#1")
    await telegram.user_sends(USER, "/alert ETHUSDT 9000")
    await telegram.wait_for_message(USER, "#2")
    await streams.wait_for(lambda: streams.kline_streams() == {BTC, stream_name("ETHUSDT")})
    await telegram.user_sends(USER, "/delete 2")
    await telegram.wait_for_message(USER, "#2")
    await streams.wait_for(lambda: streams.kline_streams() == {BTC})
    assert streams.controls("UNSUBSCRIBE")[-1].message["params"] == [stream_name("ETHUSDT")]


async def test_move_alerts_alone_subscribe_nothing(
    wick_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    await telegram.user_sends(USER, "/alert BTCUSDT 3% 15m")
    await telegram.wait_for_message(USER, "BTCUSDT")
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3)
    # The one connection the working process opens reads mark prices (docs/futures.md); no kline stream.
    assert streams.kline_streams() == set()
    assert streams.subscriptions() == [{MARK_STREAM}] and streams.handshakes == 1


async def test_alerts_still_fire_without_the_stream_and_the_log_says_so_once(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await streams.stop()  # unreachable
    settings = bot_settings(database_url, exchange, telegram, binance_stream_url=streams.url)
    with caplog.at_level(logging.INFO):
        application = await start_bot(settings)
        try:
            exchange.set_price("BTCUSDT", "69990")
            await telegram.user_sends(USER, "/alert BTCUSDT 70010")
            await telegram.wait_for_message(USER, "BTCUSDT rises")
            await eventually(lambda: caplog.text.count("next attempt") >= 2)  # it tried, and tries again
            assert application.bot_data["parts"].ticker.stream_status() == "down"
            exchange.set_price("BTCUSDT", "70020")
            assert "rose to 70020" in (await telegram.wait_for_message(USER, "🔔")).plain
        finally:
            await stop_bot(application)
    assert caplog.text.count("wicks between checks are not watched") == 1


async def test_stats_say_whether_the_stream_is_live(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    settings = bot_settings(database_url, exchange, telegram, binance_stream_url=streams.url, admin_ids=str(USER))
    application = await start_bot(settings)
    try:
        set_price(exchange, streams, "BTCUSDT", "69990")
        await telegram.user_sends(USER, "/alert BTCUSDT 99000")
        await telegram.wait_for_message(USER, "BTCUSDT rises")
        await subscribed_with_baseline(streams, BTC)
        await telegram.user_sends(USER, "/stats")
        assert "Wicks between checks: live, 1 symbols watched" in (await telegram.wait_for_message(USER, "Stats")).plain
        await streams.stop()
        await eventually(lambda: application.bot_data["parts"].ticker.stream_status() == "down")
        before = len(telegram.sent)
        await telegram.user_sends(USER, "/stats")
        assert "Wicks between checks: down" in (await telegram.wait_for_message(USER, "Stats", after=before)).plain
    finally:
        await stop_bot(application)


async def test_a_silent_stream_is_noticed_and_recovered_by_the_watchdog(
    wick_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_price(exchange, streams, "BTCUSDT", "69990")
    await telegram.user_sends(USER, "/alert BTCUSDT 70010")
    await telegram.wait_for_message(USER, "BTCUSDT rises")
    await subscribed_with_baseline(streams, BTC)
    with caplog.at_level(logging.INFO, logger="bot.exchange.streams"):
        streams.mute("BTCUSDT")  # stuck: acknowledged, then nothing
        price = 69990
        while "flow again" not in caplog.text:
            price -= 1
            set_price(exchange, streams, "BTCUSDT", str(price))
            await exchange.wait_for_requests(len(exchange.ticker_requests()) + 1, timeout=20)
    assert "subscribing again" in caplog.text
    sent = streams.updates_sent
    streams.trade("BTCUSDT", "70012.5")  # the recovered stream catches the next wick
    streams.trade("BTCUSDT", str(price))
    await streams.wait_for(lambda: streams.updates_sent > sent)
    assert "touched 70012.5" in (await telegram.wait_for_message(USER, "🔔")).plain
