"""The kline stream reader against the fake Binance market-stream server."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bot.alerts.extremes import ExtremesTracker
from bot.exchange.streams import KlineStreams, StreamOptions, stream_name
from tests.conftest import eventually
from tests.fakes.streams import COMBINED, MAX_STREAMS, RAW, FakeStreams

FAST = StreamOptions(backoff_base=0.1, backoff_cap=0.4, silence_after=0.6, open_timeout=2.0)


@pytest.fixture
async def streams() -> AsyncIterator[FakeStreams]:
    fake = FakeStreams()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def tracker() -> ExtremesTracker:
    return ExtremesTracker()


async def open_reader(url: str, tracker: ExtremesTracker, **options: float) -> KlineStreams:
    reader = KlineStreams(url, tracker, StreamOptions(**{**FAST.__dict__, **options}))
    await reader.start()
    return reader


@pytest.fixture
async def reader(streams: FakeStreams, tracker: ExtremesTracker) -> AsyncIterator[KlineStreams]:
    reader = await open_reader(streams.url, tracker)
    yield reader
    await reader.close()


def names(*symbols: str) -> set[str]:
    return {stream_name(s) for s in symbols}


def test_stream_names_lower_case_only_ascii_letters() -> None:
    assert stream_name("BTCUSDT") == "btcusdt@kline_1m"
    assert stream_name("BTCUSDT_261225") == "btcusdt_261225@kline_1m"
    assert stream_name("币安人生USDT") == "币安人生usdt@kline_1m"
    assert stream_name("ÄBCUSDT") == "Äbcusdt@kline_1m"  # str.lower() would change the Ä


async def test_subscriptions_follow_watch(reader: KlineStreams, streams: FakeStreams) -> None:
    reader.watch({"BTCUSDT", "ETHUSDT"})
    await streams.wait_for(lambda: streams.all_streams() == names("BTCUSDT", "ETHUSDT"))
    subscribes = streams.controls("SUBSCRIBE")
    assert len(subscribes) == 1 and sorted(subscribes[0].message["params"]) == sorted(names("BTCUSDT", "ETHUSDT"))

    reader.watch({"ETHUSDT", "币安人生USDT"})
    await streams.wait_for(lambda: streams.all_streams() == names("ETHUSDT", "币安人生USDT"))
    assert streams.controls("UNSUBSCRIBE")[0].message["params"] == ["btcusdt@kline_1m"]
    assert streams.handshakes == 1


async def test_a_symbol_no_longer_watched_is_unsubscribed_and_nothing_watched_closes_the_connection(
    reader: KlineStreams, streams: FakeStreams,
) -> None:
    reader.watch({"BTCUSDT", "ETHUSDT"})
    await streams.wait_for(lambda: streams.all_streams() == names("BTCUSDT", "ETHUSDT"))
    reader.watch({"ETHUSDT"})
    await streams.wait_for(lambda: streams.all_streams() == names("ETHUSDT"))
    reader.watch(set())
    await streams.wait_for(lambda: streams.subscriptions() == [])
    assert streams.close_codes == [1000]
    assert reader.status == "idle"


async def test_kline_updates_reach_the_tracker_and_a_wick_after_the_baseline_is_reported(
    reader: KlineStreams, streams: FakeStreams, tracker: ExtremesTracker,
) -> None:
    streams.trade("BTCUSDT", "70500")  # earlier in the minute, before we subscribe
    streams.trade("BTCUSDT", "70000")
    reader.watch({"BTCUSDT"})
    await streams.wait_for(lambda: streams.updates_sent >= 1)
    await eventually(lambda: reader.status == "live")
    assert tracker.take() == {}  # the baseline's 70500 is older than the subscription
    sent = streams.updates_sent
    before = time.time()
    await streams.path("BTCUSDT", [(0.0, "70300"), (0.02, "70612.5"), (0.04, "69990")])  # within one push
    await streams.wait_for(lambda: streams.updates_sent > sent)
    await eventually(lambda: "BTCUSDT" in tracker._interval)
    extremes = tracker.take()["BTCUSDT"]
    assert extremes.high == Decimal("70612.5") and extremes.high_at is not None and extremes.high_at >= before


async def test_malformed_updates_are_skipped_and_later_ones_still_count(
    reader: KlineStreams, streams: FakeStreams, tracker: ExtremesTracker, caplog: pytest.LogCaptureFixture,
) -> None:
    streams.trade("BTCUSDT", "70000")
    reader.watch({"BTCUSDT"})
    await streams.wait_for(lambda: streams.updates_sent >= 1)
    await eventually(lambda: reader.status == "live")
    with caplog.at_level(logging.WARNING, logger="bot.exchange.streams"):
        await streams.send_raw("not json")
        await streams.send_raw(json.dumps({"stream": "btcusdt@kline_1m", "data": {"e": "kline", "k": {"t": 0}}}))
        await streams.send_raw(json.dumps({"stream": "btcusdt@kline_1m", "data": {
            "e": "kline", "s": "BTCUSDT", "k": {"t": 10**15, "h": "NaN?", "l": "1"}}}))
        streams.trade("BTCUSDT", "70100")
        await eventually(lambda: "BTCUSDT" in tracker._interval)
    assert tracker.take()["BTCUSDT"].high == Decimal("70100")
    assert "not JSON" in caplog.text and "malformed" in caplog.text and "unreadable" in caplog.text
    assert streams.handshakes == 1


async def test_the_raw_path_works_too(streams: FakeStreams, tracker: ExtremesTracker) -> None:
    reader = await open_reader(streams.url_for(RAW), tracker)
    try:
        streams.trade("ETHUSDT", "2500")
        reader.watch({"ETHUSDT"})
        await streams.wait_for(lambda: streams.updates_sent >= 1)
        streams.trade("ETHUSDT", "2400")
        await eventually(lambda: "ETHUSDT" in tracker._interval)
        assert tracker.take()["ETHUSDT"].low == Decimal("2400")
    finally:
        await reader.close()


async def test_700_symbols_are_subscribed_within_binance_limits(reader: KlineStreams, streams: FakeStreams) -> None:
    symbols = {f"S{i:04d}USDT" for i in range(700)}
    reader.watch(symbols)
    await streams.wait_for(lambda: streams.all_streams() == names(*symbols), timeout=20)
    assert 1008 not in streams.close_codes and streams.handshakes == 1
    subscribes = streams.controls("SUBSCRIBE")
    assert all(len(c.message["params"]) <= 100 for c in subscribes)
    times = [c.at for c in streams.controls()]
    assert all(sum(1 for u in times if t <= u < t + 1) <= 10 for t in times)
    await eventually(lambda: reader.status == "live")


async def test_beyond_1024_streams_a_second_connection_opens(reader: KlineStreams, streams: FakeStreams) -> None:
    symbols = {f"S{i:04d}USDT" for i in range(1100)}
    reader.watch(symbols)
    await streams.wait_for(lambda: streams.all_streams() == names(*symbols), timeout=20)
    sizes = sorted(len(s) for s in streams.subscriptions())
    assert sizes == [1100 - MAX_STREAMS, MAX_STREAMS]
    assert 1008 not in streams.close_codes


@pytest.mark.parametrize("style", ["flat", "nested"])
async def test_a_refused_subscription_is_logged_in_either_error_shape(
    streams: FakeStreams, tracker: ExtremesTracker, caplog: pytest.LogCaptureFixture, style: str,
) -> None:
    streams.error_style = style
    reader = await open_reader(streams.url, tracker, streams_per_connection=MAX_STREAMS + 50)  # misconfigured
    try:
        with caplog.at_level(logging.WARNING, logger="bot.exchange.streams"):
            reader.watch({f"S{i:04d}USDT" for i in range(MAX_STREAMS + 50)})
            await eventually(lambda: "too many streams" in caplog.text, timeout=20)
        assert "SUBSCRIBE refused (code 2" in caplog.text
        assert len(streams.all_streams()) == 1000  # ten batches of 100 accepted, the rest refused
    finally:
        await reader.close()


async def test_reconnects_and_subscribes_again_after_the_server_closes(reader: KlineStreams, streams: FakeStreams) -> None:
    streams.trade("BTCUSDT", "70000")
    reader.watch({"BTCUSDT"})
    await streams.wait_for(lambda: streams.updates_sent >= 1)
    await streams.close_all()
    await streams.wait_for(lambda: streams.handshakes == 2 and streams.all_streams() == names("BTCUSDT"))
    sent = streams.updates_sent
    await streams.wait_for(lambda: streams.updates_sent > sent)  # a new subscription gets the current bar
    await eventually(lambda: reader.status == "live")


async def test_the_connection_is_renewed_before_the_servers_24_hour_limit(
    streams: FakeStreams, tracker: ExtremesTracker, caplog: pytest.LogCaptureFixture,
) -> None:
    reader = await open_reader(streams.url, tracker, max_connection_age=0.5)
    try:
        with caplog.at_level(logging.INFO, logger="bot.exchange.streams"):
            reader.watch({"BTCUSDT"})
            await streams.wait_for(lambda: streams.handshakes >= 2 and streams.all_streams() == names("BTCUSDT"))
        assert "renewing" in caplog.text and streams.close_codes[0] == 1000
    finally:
        await reader.close()


async def test_server_pings_are_answered(reader: KlineStreams, streams: FakeStreams) -> None:
    reader.watch({"BTCUSDT"})
    await streams.wait_for(lambda: streams.all_streams() == names("BTCUSDT"))
    await streams.ping_clients()


@pytest.mark.parametrize("status", [451, 403])
async def test_a_refused_handshake_is_explained_once_and_retried_slowly(
    streams: FakeStreams, tracker: ExtremesTracker, caplog: pytest.LogCaptureFixture, status: int,
) -> None:
    streams.refuse_handshakes(status, '{"code":0,"msg":"Service unavailable from a restricted location"}')
    reader = await open_reader(streams.url, tracker, backoff_cap=0.3)
    try:
        with caplog.at_level(logging.INFO, logger="bot.exchange.streams"):
            reader.watch({"BTCUSDT"})
            await eventually(lambda: "next attempt" in caplog.text)
            await eventually(lambda: caplog.text.count("next attempt") >= 3)
            errors = [r for r in caplog.records if r.levelno == logging.ERROR]
            assert len(errors) == 1
            assert f"HTTP {status}" in errors[0].getMessage() and "BINANCE_STREAM_URL" in errors[0].getMessage()
            delays = [float(part.split(" s")[0]) for part in caplog.text.split("next attempt in ")[1:]]
            assert min(delays) >= 0.1  # the longest backoff (0.3 s here) with its jitter, from the first refusal
            assert reader.status == "down"
            assert caplog.text.count("wicks between checks are not watched") == 1
            streams.accept_handshakes()
            await eventually(lambda: reader.status == "live")
            assert "market stream live again" in caplog.text
    finally:
        await reader.close()


async def feed_moving_prices(reader: KlineStreams, streams: FakeStreams, symbol: str, until: Callable[[], bool],
                             timeout: float = 15.0) -> None:
    """Ticks: the last price moves (trades happen) and the reader is told, until `until()`."""
    deadline = time.monotonic() + timeout
    price = 70000
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        price += 1
        streams.trade(symbol, str(price))
        reader.note_prices({symbol: Decimal(price)})
        await asyncio.sleep(0.1)


async def test_watchdog_subscribes_again_when_a_stream_gets_stuck(
    reader: KlineStreams, streams: FakeStreams, caplog: pytest.LogCaptureFixture,
) -> None:
    streams.trade("BTCUSDT", "70000")
    reader.watch({"BTCUSDT"})
    await feed_moving_prices(reader, streams, "BTCUSDT", lambda: reader.status == "live" and streams.updates_sent >= 2)
    with caplog.at_level(logging.INFO, logger="bot.exchange.streams"):
        streams.mute("BTCUSDT")
        await feed_moving_prices(reader, streams, "BTCUSDT", lambda: "flow again" in caplog.text)
    assert "subscribing again" in caplog.text
    assert len(streams.controls("SUBSCRIBE")) == 2 and streams.handshakes == 1
    assert reader.status == "live"


async def test_watchdog_reconnects_when_subscribing_again_does_not_help(
    reader: KlineStreams, streams: FakeStreams, caplog: pytest.LogCaptureFixture,
) -> None:
    streams.trade("BTCUSDT", "70000")
    reader.watch({"BTCUSDT"})
    await feed_moving_prices(reader, streams, "BTCUSDT", lambda: reader.status == "live" and streams.updates_sent >= 2)
    with caplog.at_level(logging.INFO, logger="bot.exchange.streams"):
        streams.go_quiet()
        await feed_moving_prices(reader, streams, "BTCUSDT", lambda: "flow again" in caplog.text)
    assert "subscribing again" in caplog.text and "reconnecting" in caplog.text
    assert streams.handshakes == 2
    assert reader.status == "live"


@pytest.mark.parametrize("path", ["/ws", "/stream"])
async def test_watchdog_notices_a_retired_path_and_says_so(
    streams: FakeStreams, tracker: ExtremesTracker, caplog: pytest.LogCaptureFixture, path: str,
) -> None:
    reader = await open_reader(streams.url_for(path), tracker)
    try:
        with caplog.at_level(logging.INFO, logger="bot.exchange.streams"):
            reader.watch({"BTCUSDT"})
            await eventually(lambda: reader.status == "live")  # acknowledged: looks fine at first
            await feed_moving_prices(reader, streams, "BTCUSDT",
                                     lambda: any(r.levelno == logging.ERROR for r in caplog.records))
        assert "subscribing again" in caplog.text
        assert "/market/stream" in [r for r in caplog.records if r.levelno == logging.ERROR][0].getMessage()
        assert streams.handshakes >= 2 and reader.status == "down"
        assert tracker.take() == {}
    finally:
        await reader.close()


async def test_the_fake_closes_with_1008_beyond_10_messages_a_second(streams: FakeStreams) -> None:
    async with connect(streams.url_for(COMBINED)) as ws:
        with pytest.raises(ConnectionClosed):
            for i in range(12):
                await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
            while True:
                await ws.recv()
    await streams.wait_for(lambda: streams.close_codes == [1008])
